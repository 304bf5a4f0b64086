"""alerts.ack and alerts.unack: an ack event on the card's own subject of CHATOPS_CARDS.

The decision (acknowledge, already acknowledged, nothing to take back, resolved) is made on the
card's latest ack event and appended only if that is still the latest (Nats-Expected-Last-Subject-
Sequence), so two people acking at once get one ack and one "already acknowledged". An ack names the
episode it acknowledges and never changes whether anything fires: one that races a resolve cannot
reopen anything, and one for a card whose alerts are all resolved is not appended at all.
"""

from __future__ import annotations

import time

from chatops.cardref import episode_of, in_force, short_ref
from chatops.v1 import cards_pb2 as pb
from ops.cards import Card, CardLog, Raced
from ops.context import CallContext
from ops.deps import Deps

ATTEMPTS = 5


def decide(card: Card, last: pb.AckEvent | None, acked: bool) -> pb.AckOutcome:
    """What an ack (or unack) does to the card now (pure)."""
    held = in_force(last, card.record)
    if card.record.resolved:
        return pb.ACK_OUTCOME_RESOLVED
    if acked:
        return pb.ACK_OUTCOME_ALREADY_ACKED if held is not None else pb.ACK_OUTCOME_ACKED
    return pb.ACK_OUTCOME_UNACKED if held is not None else pb.ACK_OUTCOME_NOT_ACKED


def _reply(card: Card, outcome: pb.AckOutcome, held: pb.AckEvent | None) -> pb.AckAlertReply:
    reply = pb.AckAlertReply(
        outcome=outcome,
        ref=card.ref,
        short_ref=short_ref(card.ref),
        alertnames=card.alertnames,
        channel=card.record.channel,
        ts=card.record.ts,
    )
    if held is not None:
        reply.actor, reply.actor_name = held.actor, held.actor_name
        reply.time.CopyFrom(held.time)
    return reply


async def change(cards: CardLog, ctx: CallContext, req: pb.AckAlertRequest, acked: bool) -> pb.AckAlertReply:
    """Acknowledge (or take back) the card `req` names, decided on its latest ack event."""
    card = await cards.find(req.alert)
    for _ in range(ATTEMPTS):
        last = await cards.last_ack(card.ref)
        outcome = decide(card, last, acked)
        if outcome not in (pb.ACK_OUTCOME_ACKED, pb.ACK_OUTCOME_UNACKED):
            return _reply(card, outcome, in_force(last, card.record))
        event = pb.AckEvent(
            ref=card.ref,
            group_key=card.record.group_key,
            episode=episode_of(card.record),
            acked=acked,
            actor=ctx.actor,
            actor_name=ctx.actor_name,
            request_id=ctx.request_id,
            alertnames=card.alertnames,
        )
        event.time.FromNanoseconds(time.time_ns())
        try:
            await cards.append_ack(event, last.sequence if last is not None else 0)
        except Raced:
            continue  # someone else acked or unacked just now: decide again on what they did
        return _reply(card, outcome, event if acked else None)
    raise RuntimeError(f"the acks of card {card.ref} kept changing under us")


async def ack(deps: Deps, ctx: CallContext, req: pb.AckAlertRequest) -> pb.AckAlertReply:
    """Acknowledge the card's alert for its current episode."""
    return await change(deps.cards, ctx, req, True)


async def unack(deps: Deps, ctx: CallContext, req: pb.AckAlertRequest) -> pb.AckAlertReply:
    """Take the card's ack back."""
    return await change(deps.cards, ctx, req, False)
