"""Acks on a real nats-server: people acking at once get one ack, an ack after a resolve changes
nothing, and a card is found by its ref or its alert's name."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from nats.aio.client import Client

from chatops import codec
from chatops.cardref import group_ref
from chatops.errors import BAD_REQUEST, NOT_FOUND
from chatops.streams import provision
from chatops.subjects import KV_ALERT_MESSAGES
from chatops.v1 import cards_pb2 as pb
from chatops.v1.records_pb2 import AlertMessageRecord
from ops.cards import CardLog
from ops.context import CallContext
from ops.errors import OpsError
from ops.handlers.acks import change
from tools.harness.servers import NatsServer, running


def who(user: str) -> CallContext:
    return CallContext(actor=f"slack:{user}", actor_name=user, source="slack", request_id=f"req-{user}")


async def card(nc: Client, name: str, *, resolved: bool = False, team: str = "") -> str:
    """A card as the gateway records it once its message is posted; returns its ref."""
    group_key = f'{{}}:{{alertname="{name}", team="{team}"}}'
    ref = group_ref(group_key)
    record = AlertMessageRecord(
        channel="C1", ts="1.1", group_key=group_key, episode_id=f"n-{name}", resolved=resolved
    )
    record.labels["alertname"] = name
    await (await nc.jetstream().key_value(KV_ALERT_MESSAGES)).put(ref, codec.encode(record))
    return ref


@pytest.fixture
async def bus(tmp_path: Path) -> AsyncIterator[Client]:
    """A bus without identities: the ack logic on its own, ops' rights are tested elsewhere."""
    with running(NatsServer(tmp_path / "nats")) as server:
        client = await server.connect("test")
        try:
            yield client
        finally:
            await client.close()


@pytest.fixture
async def cards(bus: Client) -> CardLog:
    await provision(bus.jetstream())
    return CardLog(bus.jetstream())


async def test_five_people_acking_at_once_get_one_ack_and_four_say_who_was_first(
    bus: Client, cards: CardLog
) -> None:
    ref = await card(bus, "Down")
    users = [f"U{n}" for n in range(5)]
    replies = await asyncio.gather(
        *(change(cards, who(u), pb.AckAlertRequest(alert=ref[:8]), True) for u in users)
    )
    outcomes = sorted(r.outcome for r in replies)
    assert outcomes == [pb.ACK_OUTCOME_ACKED] + [pb.ACK_OUTCOME_ALREADY_ACKED] * 4
    [first] = [r.actor for r in replies if r.outcome == pb.ACK_OUTCOME_ACKED]
    assert all(r.actor == first for r in replies)  # every "already" names the one who was first
    last = await cards.last_ack(ref)
    assert last is not None and last.acked and last.actor == first and last.episode == "n-Down"

    by_name = pb.AckAlertRequest(alert="Down")
    assert (await change(cards, who("U9"), by_name, False)).outcome == pb.ACK_OUTCOME_UNACKED
    assert (await change(cards, who("U9"), by_name, False)).outcome == pb.ACK_OUTCOME_NOT_ACKED


async def test_an_ack_of_a_resolved_card_appends_nothing_and_an_unknown_card_is_404(
    bus: Client, cards: CardLog
) -> None:
    ref = await card(bus, "Gone")
    assert (
        await change(cards, who("U1"), pb.AckAlertRequest(alert=ref), True)
    ).outcome == pb.ACK_OUTCOME_ACKED
    before = await cards.last_ack(ref)
    await card(bus, "Gone", resolved=True)  # the resolve won the race
    for acked in (True, False):
        reply = await change(cards, who("U2"), pb.AckAlertRequest(alert="Gone"), acked)
        assert reply.outcome == pb.ACK_OUTCOME_RESOLVED
    after = await cards.last_ack(ref)
    assert before is not None and after is not None and after.sequence == before.sequence

    with pytest.raises(OpsError) as missing:
        await change(cards, who("U1"), pb.AckAlertRequest(alert="NoSuchAlert"), True)
    assert missing.value.code == NOT_FOUND
    with pytest.raises(OpsError) as empty:
        await change(cards, who("U1"), pb.AckAlertRequest(alert=" "), True)
    assert empty.value.code == BAD_REQUEST
    # Two firing cards of one alert name (two teams' groups): the ref says which.
    refs = [await card(bus, "Twice", team=t) for t in ("a", "b")]
    with pytest.raises(OpsError) as unclear:
        await change(cards, who("U1"), pb.AckAlertRequest(alert="Twice"), True)
    assert unclear.value.code == BAD_REQUEST and all(r[:8] in unclear.value.text for r in refs)


async def test_a_retried_request_is_stored_once_and_answered_as_it_stands(
    bus: Client, cards: CardLog
) -> None:
    ref = await card(bus, "Retried")
    request = pb.AckAlertRequest(alert=ref)
    assert (await change(cards, who("U1"), request, True)).outcome == pb.ACK_OUTCOME_ACKED
    first = await cards.last_ack(ref)
    again = await change(cards, who("U1"), request, True)  # the same request id: a retry
    assert again.outcome == pb.ACK_OUTCOME_ALREADY_ACKED and again.actor == "slack:U1"
    # A client that reuses its request id for the next command still gets it done.
    assert (await change(cards, who("U1"), request, False)).outcome == pb.ACK_OUTCOME_UNACKED
    assert (await change(cards, who("U1"), request, True)).outcome == pb.ACK_OUTCOME_ACKED
    assert (await change(cards, who("U1"), request, False)).outcome == pb.ACK_OUTCOME_UNACKED
    last = await cards.last_ack(ref)
    assert first is not None and last is not None and last.sequence > first.sequence and not last.acked
