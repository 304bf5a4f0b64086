"""Messages recovered from the journal long after they were asked (no gateway ran meanwhile), refusals
recovered without a second audit event, and a full journal, on a real nats-server's KV."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from google.protobuf.message import Message

from chatops.bus import Caller
from chatops.contract import Command
from chatops.streams import DAY, kv_stream
from chatops.subjects import KV_JOURNAL
from chatops.v1 import audit_pb2
from chatops.v1.records_pb2 import JournalEntry
from gateway.confirmations import confirmation_id
from gateway.recovered import RECOVERED, Recovered, ago, recovered
from gateway.slack.admission import FOREIGN, Admission
from gateway.slack.blocks import CONFIRM
from gateway.slack.events import ButtonClick
from gateway.slack.handlers import SlackGateway
from tests.gateway.test_handlers import RecordingChat, drawn, gateway_on, said
from tests.gateway.test_journal import STALE, Asked, journal_of, sweeper

HOURS = 3600.0


async def replica(
    nc,
    owner: str,
    chat: RecordingChat,
    ask: Asked,
    *,
    behind: float = 0.0,
    admission: Admission | None = None,
) -> tuple[SlackGateway, list[audit_pb2.AuditEvent]]:
    """A gateway replica, its journal's clock `behind` seconds in the past, and the refusals it audits."""
    gw, audited = await gateway_on(nc, chat, ask=ask, admission=admission)
    gw.journal, gw.renew_every = await journal_of(nc, owner, behind=behind), 0.2
    return gw, audited


def test_a_recovered_message_is_late_once_older_than_a_confirmation_stays_valid():
    entry = JournalEntry(audited=True)
    entry.accepted_at.FromSeconds(1_000)
    assert recovered(entry, 1_000 + 299, late_after=300) == Recovered(
        recovered(entry, 1_000, 300).note, late=False, audited=True
    )
    assert recovered(entry, 1_000 + 299, 300).note.text == RECOVERED
    late = recovered(entry, 1_000 + 3 * HOURS + 300, 300)
    assert (
        late.late and "asked 3 h 5 min ago" in str(late.note.text) and "down meanwhile" in str(late.note.text)
    )
    assert not recovered(JournalEntry(), 5_000, 300).late  # no accepted_at (an older writer): not late
    assert [ago(s) for s in (42, 600, 3 * HOURS, 3 * HOURS + 61, 26 * HOURS, DAY)] == [
        "42 s",
        "10 min",
        "3 h",
        "3 h 1 min",
        "1 d 2 h",
        "1 d",
    ]


async def test_after_an_outage_a_read_is_answered_saying_how_late_and_a_change_is_not_run(nc):
    chat, ask = RecordingChat(), Asked()
    dead, _ = await replica(nc, "dead", RecordingChat(), ask, behind=3 * HOURS)
    await dead.accept(said("Ev1", "U1", "show sampling"))  # taken, then the gateway stopped for 3 h
    await dead.accept(said("Ev2", "UADMIN", "change sampling always"))
    posted = said("Ev3", "UADMIN", "change sampling never")
    await dead.accept(posted)
    await dead._handle(posted)  # its question posted (still valid by its own clock), then stopped
    gw, _ = await replica(nc, "alive", chat, ask)
    assert await sweeper(gw).sweep() == 3
    by_thread = {thread: text for _, thread, text in chat.posts}
    read, change, asked = by_thread["1.Ev1"], by_thread["1.Ev2"], by_thread["1.Ev3"]
    assert "always" in read and "asked 3 h ago" in read and "down meanwhile" in read
    assert RECOVERED not in read
    assert (
        "`change sampling always` was not run" in change and "send `change sampling always` again" in change
    )
    assert "asked 3 h ago" in change
    assert not await gw.confirmations.known(confirmation_id("Ev2"))  # not asked again
    assert "`change sampling never` was not run" in asked
    # The question the stopped gateway had posted is taken back: a click on it runs nothing.
    assert any("Not run: `change sampling never`" in text for _, text in chat.updates)
    await gw.on_click(ButtonClick(CONFIRM, confirmation_id("Ev3"), "UADMIN", "C1", "9.1"))
    assert ask.sent == ["sampling.get"]
    metrics = gw.metrics.registry
    assert (
        metrics.get_sample_value(
            "chatops_gateway_commands_total", {"command": "sampling.set", "outcome": "too_late"}
        )
        == 2.0
    )


class AskedAndDrawn(Asked):
    """Ops answering sampling commands and drawing graphs."""

    async def __call__(self, command: Command[Any, Any], request: Message, caller: Caller) -> Message:
        if command.name == "graph.render":
            self.sent.append(command.name)
            return await drawn(command, request, caller)
        return await super().__call__(command, request, caller)


async def test_every_recovered_answer_carries_the_note_and_a_refusal_is_audited_once(nc):
    chat, ask = RecordingChat(), AskedAndDrawn()
    policy = Admission(frozenset({"T1"}))
    dead, dead_audited = await replica(nc, "dead", RecordingChat(), ask, behind=2 * STALE, admission=policy)
    refused = said("Ev4", "U1", "change sampling always")  # a non-admin's change
    foreign = replace(said("Ev5", "U1", "show sampling"), origin=("T1", "T0GUEST"))
    unaudited = said("Ev6", "U1", "change sampling never")
    for msg in (refused, foreign):
        accepted = await dead.accept(msg)
        await dead._handle(msg, accepted.ticket)  # refused and audited, then stopped before done
    await dead.accept(unaudited)  # stopped before it was refused
    await dead.accept(said("Ev7", "U1", "graph up for=1h"))  # a picture, shared as a file
    assert len(dead_audited) == 2
    gw, audited = await replica(nc, "alive", chat, ask, admission=policy)
    assert await sweeper(gw).sweep() == 4
    [(_, thread, upload)] = chat.uploads
    assert thread == "1.Ev7" and RECOVERED in upload.comment
    by_thread = {thread: text for _, thread, text in chat.posts}
    assert "only admins may run it" in by_thread["1.Ev4"] and RECOVERED in by_thread["1.Ev4"]
    assert FOREIGN in by_thread["1.Ev5"] and RECOVERED in by_thread["1.Ev5"]
    assert "only admins may run it" in by_thread["1.Ev6"] and RECOVERED in by_thread["1.Ev6"]
    # Only the refusal the stopped gateway had not recorded is recorded now.
    assert [e.command for e in audited] == ["sampling.set"]
    assert "never" in audited[0].arguments.lower()
    assert ask.sent == ["graph.render"]


async def test_the_journal_keeps_a_day_and_a_message_finding_it_full_is_answered_still(nc):
    chat, ask = RecordingChat(), Asked()
    gw, _ = await replica(nc, "full", chat, ask)
    js = nc.jetstream()
    info = await js.stream_info(kv_stream(KV_JOURNAL))
    assert info.config.max_age == DAY
    await js.update_stream(replace(info.config, max_bytes=4096))  # a small cap, to fill it
    n = 0
    while gw.metrics.registry.get_sample_value("chatops_gateway_journal_errors_total") == 0.0:
        n += 1
        await gw.on_message(said(f"Ev7x{n}", "U1", "show sampling"))
        assert n < 100
    assert len(chat.posts) == n  # the one that found it full too
    assert all("always" in text for _, _, text in chat.posts)
