"""Alert cards open longer than CHATOPS_CARDS keeps events, on a real nats-server whose card stream keeps
them MAX_AGE seconds (30 days in production): ops' keeper appends an open card's ack and a live silence
again before they age out, so a gateway that starts after the originals are gone still shows who acked;
a closed card's ack and an ended silence age out as before."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from nats.aio.client import Client

from chatops.streams import Limits, provision
from chatops.subjects import CARDS_STREAM
from chatops.v1 import cards_pb2 as pb
from gateway.alerts.book import CardBook
from ops.cardkeeper import CardKeeper, Renewed, pause
from ops.cards import CardLog
from ops.context import CallContext
from ops.handlers.acks import change
from ops.timeline import Scope, timeline
from tools.harness.alerts import Card, open_card, resolve_card
from tools.harness.servers import NatsServer, running
from tools.harness.wait import eventually

MAX_AGE = 5.0  # CHATOPS_CARDS' age limit here (the keeper looks every 0.5 s)
DAY = 86400.0


@pytest.fixture
async def bus(tmp_path: Path) -> AsyncIterator[Client]:
    """A bus without identities (ops' rights are tested elsewhere) whose card events age out fast."""
    with running(NatsServer(tmp_path / "nats")) as server:
        client = await server.connect("test")
        try:
            await provision(client.jetstream(), Limits(cards_max_age=MAX_AGE))
            yield client
        finally:
            await client.close()


def silence(silence_id: str, card: Card, *, ends: float, state: str) -> pb.SilenceEvent:
    """The watcher's event for a silence that mutes the card's alert (or did, until it ended)."""
    alert = card.note.alerts[0]
    event = pb.SilenceEvent(silence_id=silence_id, state=state, created_by="bob", observed=True)
    event.ends_at.FromNanoseconds(int(ends * 1e9))
    event.time.GetCurrentTime()
    seen = pb.SilencedAlert(fingerprint=alert.fingerprint, alertname="x", muted=state == "active")
    seen.starts_at.CopyFrom(alert.starts_at)
    event.alerts.append(seen)
    return event


def test_it_looks_every_tenth_of_the_age_limit_within_bounds() -> None:
    assert pause(30 * DAY) == 3600.0
    assert pause(6.0) == pytest.approx(0.6)
    assert pause(1.0) == 0.5
    assert pause(0.0) == 3600.0  # a stream without an age limit loses nothing: look rarely


async def test_an_open_cards_ack_outlives_the_age_limit_and_a_closed_cards_does_not(bus: Client) -> None:
    js = bus.jetstream()
    cards = CardLog(js)
    firing, done = await open_card(bus, "DiskFilling"), await open_card(bus, "CertExpiring")
    for n, card in enumerate((firing, done)):
        ctx = CallContext(actor="slack:U1", actor_name="U1", source="slack", request_id=f"req-{n}")
        reply = await change(cards, ctx, pb.AckAlertRequest(alert=card.ref), True)
        assert reply.outcome == pb.ACK_OUTCOME_ACKED
    acked = await cards.last_ack(firing.ref)
    assert acked is not None
    now = time.time()
    await cards.append_silence(silence("live", firing, ends=now + 30 * DAY, state="active"), "live-1")
    await cards.append_silence(silence("ended", firing, ends=now - 60, state="expired"), "ended-1")
    done_record = await resolve_card(js, done)
    written = (await js.stream_info(CARDS_STREAM)).state.last_seq

    assert await CardKeeper(js, cards).renew(MAX_AGE) == Renewed(0, 0)  # all younger than half the age

    # Its clock runs an age limit ahead, so whatever is stored is due for a copy at once: a keeper
    # slowed down by a loaded machine still copies long before the original ages out.
    keeper = CardKeeper(js, cards, clock=lambda: time.time() + MAX_AGE)
    keeper.start()
    try:

        async def aged_out() -> bool:
            return (await js.stream_info(CARDS_STREAM)).state.first_seq > written

        await eventually(aged_out, timeout=10 * MAX_AGE, what="every event written above aged out")
    finally:
        await keeper.stop()

    kept = await cards.last_ack(firing.ref)
    assert kept is not None and kept.HasField("renewed_at") and kept.sequence > written
    assert (kept.acked, kept.actor, kept.episode, kept.time) == (True, "slack:U1", acked.episode, acked.time)
    assert await cards.last_ack(done.ref) is None  # a closed card's ack is gone with its age
    assert await cards.last_silence("ended") is None
    live = await cards.last_silence("live")
    assert live is not None and live.state == "active" and live.HasField("renewed_at")

    # A gateway that starts now reads the open card's ack and silence; the closed card has no ack left.
    book = CardBook(js)
    book.start()
    try:
        await book.caught_up()
        view = await book.view(firing.ref, firing.record, firing.note)
        assert view.ack is not None and view.ack.by.user == "U1"
        assert [s.silence_id for s in view.silences] == ["live"]
        assert (await book.view(done.ref, done_record, done.note)).ack is None
    finally:
        await book.stop()

    # The copies are not history: the timeline lists no ack (the one made is older than the stream).
    shown = await timeline(js, 0, Scope(), 100)
    assert [e.kind for e in shown.entries if e.kind == pb.TIMELINE_KIND_ACK] == []
