"""The card book keeps only what a card can still show, on a real nats-server with an injected clock:
acks and silences of resolved cards and ended silences are dropped, while an open card keeps its
"Acked by", its silence lines and its alerts resolved while silenced, and a replica that starts on
the same bus holds and shows the same."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext

from chatops import codec
from chatops.cardref import firing
from chatops.subjects import CARDS_STREAM, ack_subject, silence_subject
from chatops.v1 import cards_pb2 as pb
from chatops.v1.events_pb2 import AlertNotification
from chatops.v1.records_pb2 import AlertMessageRecord
from gateway.alerts.book import GRACE, CardBook
from gateway.alerts.card import CardView
from gateway.alerts.render import alert_doc
from gateway.render.slack import to_slack
from tools.harness.alerts import Card, flat, open_card, resolve_card
from tools.harness.wait import eventually

T0 = 1_800_000_000.0  # the injected clock's start (seconds since the epoch)
DAY = 86400.0
WAVE = 40  # cards acked and resolved, and silences ended, per wave


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


async def ack(js: JetStreamContext, card: Card, user: str, at: float) -> None:
    event = pb.AckEvent(
        ref=card.ref, episode=card.record.episode_id, acked=True, actor=f"slack:{user}", actor_name=user
    )
    event.time.FromNanoseconds(int(at * 1e9))
    await js.publish(ack_subject(card.ref), codec.encode(event), stream=CARDS_STREAM)


async def silence(
    js: JetStreamContext,
    silence_id: str,
    card: Card,
    *,
    ends: float,
    state: str = "active",
    resolved_at: float = 0.0,
) -> None:
    """The watcher's event for a silence that mutes (or muted) the card's first alert."""
    alert = card.note.alerts[0]
    event = pb.SilenceEvent(
        silence_id=silence_id, state=state, created_by="bob", observed=True, url="http://am/#/silences/x"
    )
    event.ends_at.FromNanoseconds(int(ends * 1e9))
    event.time.FromNanoseconds(int(ends * 1e9))  # seen expired at its end
    seen = pb.SilencedAlert(
        fingerprint=alert.fingerprint, alertname="x", muted=state == "active" and not resolved_at
    )
    seen.starts_at.CopyFrom(alert.starts_at)
    if resolved_at:
        seen.resolved_at.FromNanoseconds(int(resolved_at * 1e9))
    event.alerts.append(seen)
    await js.publish(silence_subject(silence_id), codec.encode(event), stream=CARDS_STREAM)


@pytest.fixture
async def book(js_ready: Client) -> AsyncIterator[tuple[CardBook, Clock]]:
    clock = Clock()
    started = CardBook(js_ready.jetstream(), clock=clock)
    started.start()
    await started.caught_up()
    try:
        yield started, clock
    finally:
        await started.stop()


async def test_acks_of_resolved_cards_and_ended_silences_are_dropped_wave_after_wave(
    js_ready: Client, book: tuple[CardBook, Clock]
) -> None:
    cards, clock = book
    js = js_ready.jetstream()
    still = await open_card(js_ready, "StillOpen")
    await ack(js, still, "U0", clock.now)
    for wave in range(3):
        done = []
        for n in range(WAVE):
            card = await open_card(js_ready, f"Wave{wave}Card{n}")
            await ack(js, card, "U1", clock.now)
            await silence(js, f"s-{wave}-{n}", card, ends=clock.now + 600, state="expired")
            done.append(card)
        for card in done:
            await resolve_card(js, card)
        await eventually(
            lambda: (
                len(cards.acks) == WAVE + 1
                and len(cards.silences) == WAVE
                and cards.records.keys() == {still.ref}
            ),
            what="the book reading the wave",
        )
        # Within GRACE nothing goes; past it, the next event the book reads leaves only the open card.
        clock.now += 600 + GRACE + 1
        await ack(js, still, f"U{wave + 2}", clock.now)
        await eventually(
            lambda: cards.acks.keys() == {still.ref} and not cards.silences, what="the wave pruned"
        )
    assert cards.acks[still.ref].actor == "slack:U4"


async def scene(nc: Client, clock: Clock) -> tuple[Card, Card, AlertMessageRecord]:
    """An open card acked long ago, with a silence still on (its first alert) and one ended that saw
    its second alert resolve; a resolved card acked, and a silence of it that ended."""
    js = nc.jetstream()
    open_ = await open_card(nc, "LongOpen", ("h1", "h2"))
    await ack(js, open_, "U1", clock.now)
    await silence(js, "on", open_, ends=clock.now + 30 * DAY)
    second = Card(open_.ref, open_.record, AlertNotification())
    second.note.alerts.append(open_.note.alerts[1])
    await silence(js, "saw-resolve", second, ends=clock.now + 60, state="expired", resolved_at=clock.now + 30)
    closed = await open_card(nc, "Closed")
    await ack(js, closed, "U2", clock.now)
    await silence(js, "of-closed", closed, ends=clock.now + 60, state="expired")
    return open_, closed, await resolve_card(js, closed)


async def scene_read(nc: Client, cards: CardBook, clock: Clock) -> tuple[Card, Card, AlertMessageRecord]:
    """The `scene`, once `cards` has read all of it."""
    open_, closed, closed_record = await scene(nc, clock)
    await eventually(
        lambda: len(cards.silences) == 3 and closed.ref not in cards.records, what="the scene read"
    )
    return open_, closed, closed_record


def shown(card: Card, view: CardView) -> str:
    """The card's text as Slack would show it with this view."""
    message = to_slack(alert_doc(card.note, ref=card.ref, view=view))
    return flat({"text": message.text, "blocks": list(message.blocks)})


async def test_an_open_card_keeps_its_ack_and_silences_and_a_resolved_one_its_ack(
    js_ready: Client, book: tuple[CardBook, Clock]
) -> None:
    cards, clock = book
    open_, closed, closed_record = await scene_read(js_ready, cards, clock)
    before = await cards.view(open_.ref, open_.record, open_.note)

    clock.now += 10 * DAY
    assert await cards.prune() == (1, 1)  # the closed card's ack and its silence
    assert cards.acks.keys() == {open_.ref} and cards.silences.keys() == {"on", "saw-resolve"}

    view = await cards.view(open_.ref, open_.record, open_.note)
    assert view == before
    assert view.ack is not None and view.ack.by.user == "U1"
    assert [s.silence_id for s in view.silences] == ["on"]
    assert [k for k, _ in view.resolved] == [
        firing(open_.note.alerts[1].fingerprint, open_.note.alerts[1].starts_at)
    ]
    text = shown(open_, view)
    assert "Acked by <@U1>" in text and "Silenced by `bob`" in text and "resolved while silenced" in text
    # The resolved card drawn again (a late notification of its episode) still says who acked it.
    final = await cards.view(closed.ref, closed_record, closed.note)
    assert final.ack is not None and final.ack.by.user == "U2"


async def test_a_replica_that_starts_later_keeps_and_shows_the_same(
    js_ready: Client, book: tuple[CardBook, Clock]
) -> None:
    cards, clock = book
    open_, closed, closed_record = await scene_read(js_ready, cards, clock)
    clock.now += 10 * DAY
    await cards.prune()

    fresh = CardBook(js_ready.jetstream(), clock=clock)
    fresh.start()
    try:
        await fresh.caught_up()
        assert fresh.acks.keys() == cards.acks.keys() == {open_.ref}
        assert fresh.silences.keys() == cards.silences.keys() == {"on", "saw-resolve"}
        for card, record in ((open_, open_.record), (closed, closed_record)):
            assert await fresh.view(card.ref, record, card.note) == await cards.view(
                card.ref, record, card.note
            )
        assert "Acked by <@U1>" in shown(open_, await fresh.view(open_.ref, open_.record, open_.note))
    finally:
        await fresh.stop()
