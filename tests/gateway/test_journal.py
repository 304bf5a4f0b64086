"""The journal of taken chat messages and its recovery sweep, on a real nats-server's KV."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import nats.errors
from google.protobuf.message import Message

from chatops import codec
from chatops.bus import Caller
from chatops.contract import Command
from chatops.streams import kv_stream, provision
from chatops.subjects import KV_JOURNAL
from chatops.v1 import sampling_pb2
from chatops.v1.records_pb2 import JournalEntry
from gateway.confirmations import confirmation_id
from gateway.journal import Found, Journal
from gateway.metrics import GatewayMetrics
from gateway.recovered import RECOVERED
from gateway.recovery import MAX_TAKEOVERS, TAKE_LIMIT, Recovery
from gateway.slack.blocks import CONFIRM
from gateway.slack.events import ButtonClick
from gateway.slack.handlers import SlackGateway
from tests.gateway.test_handlers import RecordingChat, gateway_on, said
from tests.gateway.test_state import LostAnswers

STALE = 30.0


class Asked:
    """An Asker standing in for ops that counts what it was sent and answers sampling commands."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def __call__(self, command: Command[Any, Any], request: Message, caller: Caller) -> Message:
        self.sent.append(command.name)
        if command.name == "sampling.set":
            return sampling_pb2.SetSamplingReply()
        reply = sampling_pb2.GetSamplingReply()
        reply.sampler.type = sampling_pb2.SAMPLER_TYPE_ALWAYS
        return reply


async def scanned(journal: Journal, after: int = 0, limit: int = 1000) -> list[Found]:
    """Every entry a scan yields."""
    return [found async for found in journal.scan(after, limit)]


async def journal_of(nc, owner: str, *, behind: float = 0.0) -> Journal:
    """A journal as replica `owner` keeps it; `behind` seconds in the past (a dead one's old writes)."""
    js = nc.jetstream()
    await provision(js)
    return Journal(js, await js.key_value(KV_JOURNAL), owner, clock=lambda: time.time() - behind)


async def replica(nc, owner: str, chat: RecordingChat, ask: Asked, behind: float = 0.0) -> SlackGateway:
    gw: SlackGateway
    gw, _ = await gateway_on(nc, chat, ask=ask)
    gw.journal, gw.renew_every = await journal_of(nc, owner, behind=behind), 0.2
    return gw


def sweeper(gw: SlackGateway, metrics: GatewayMetrics | None = None) -> Recovery:
    assert gw.journal is not None
    return Recovery(
        gw.journal, gw.recover, gw.give_up, metrics or gw.metrics, stale_after=STALE, interval=60.0
    )


async def test_a_message_is_journaled_once_and_a_lost_answer_is_settled_by_what_was_stored(nc):
    one, two = await journal_of(nc, "one"), await journal_of(nc, "two")
    msg = said("Ev1", "U1", "show sampling")
    ticket = await one.open(msg)
    assert ticket is not None and ticket.entry.holder == "one" and not ticket.entry.done
    assert await two.open(msg) is None  # a Slack retry, or the same event on another replica
    assert await one.renew(ticket)
    await one.close(ticket)
    stored = await one.kv.get(ticket.key)
    entry = codec.decode(stored.value or b"", JournalEntry)
    assert entry.done and (entry.channel, entry.thread_ts, entry.text) == ("C1", "1.Ev1", "show sampling")
    # The create was stored, its answer lost: the stored value says it is this one's.
    lossy = Journal(one.js, LostAnswers(one.kv), "three")  # type: ignore[arg-type]
    mine = await lossy.open(said("Ev2", "U1", "show sampling"))
    assert mine is not None and mine.revision > 0


async def test_a_done_message_is_never_answered_again(nc):
    chat, ask = RecordingChat(), Asked()
    gw = await replica(nc, "live", chat, ask)
    await gw.on_message(said("Ev3", "U1", "show sampling"))
    assert len(chat.posts) == 1 and ask.sent == ["sampling.get"]
    recovery = sweeper(await replica(nc, "other", chat, ask))
    recovery.stale_after = 0.0  # even at once: a done entry is done
    assert await recovery.sweep() == 0
    assert len(chat.posts) == 1 and ask.sent == ["sampling.get"]


async def test_a_replica_never_takes_over_what_it_holds_itself(nc):
    chat, ask = RecordingChat(), Asked()
    gw = await replica(nc, "busy", chat, ask, behind=2 * STALE)  # as if its loop had stalled that long
    accepted = await gw.accept(said("Ev3b", "U1", "show sampling"))
    assert accepted.ticket is not None
    assert await sweeper(gw).sweep() == 0 and chat.posts == []
    assert await sweeper(await replica(nc, "other", chat, ask)).sweep() == 1


async def test_two_sweeping_replicas_answer_an_orphan_once_with_the_note(nc):
    dead_chat, chat_a, chat_b, ask = RecordingChat(), RecordingChat(), RecordingChat(), Asked()
    dead = await replica(nc, "dead", dead_chat, ask, behind=2 * STALE)
    accepted = await dead.accept(said("Ev4", "U1", "show sampling"))  # then SIGKILL: never answered
    assert accepted.first and accepted.ticket is not None
    a, b = await replica(nc, "a", chat_a, ask), await replica(nc, "b", chat_b, ask)
    metrics = GatewayMetrics()
    taken = await asyncio.gather(sweeper(a, metrics).sweep(), sweeper(b, metrics).sweep())
    assert sorted(taken) == [0, 1]
    [(channel, thread, text)] = chat_a.posts + chat_b.posts
    assert (channel, thread) == ("C1", "1.Ev4")
    assert "always" in text and RECOVERED in text
    assert ask.sent == ["sampling.get"] and dead_chat.posts == []
    assert (
        metrics.registry.get_sample_value("chatops_gateway_recovered_messages_total", {"outcome": "answered"})
        == 1.0
    )
    # Answered: done, so no later sweep answers it again.
    assert await sweeper(a).sweep() == 0 and await sweeper(b).sweep() == 0


async def test_a_fresh_message_is_left_to_its_gateway_and_a_sweep_takes_a_bounded_number(nc):
    chat, ask = RecordingChat(), Asked()
    dead = await replica(nc, "dead", RecordingChat(), ask, behind=2 * STALE)
    for n in range(TAKE_LIMIT + 2):
        await dead.accept(said(f"Ev5x{n}", "U1", "help"))
    alive = await replica(nc, "alive", RecordingChat(), ask)
    await alive.accept(said("Ev5live", "U1", "show sampling"))  # its gateway is still at it
    gw = await replica(nc, "sweeper", chat, ask)
    recovery = sweeper(gw)
    assert await recovery.sweep() == TAKE_LIMIT
    assert await recovery.sweep() == 2
    assert await recovery.sweep() == 0
    threads = sorted(thread for _, thread, _ in chat.posts)
    assert threads == sorted(f"1.Ev5x{n}" for n in range(TAKE_LIMIT + 2))
    assert ask.sent == []


async def test_a_change_is_asked_again_after_recovery_and_runs_only_on_a_click(nc):
    chat, ask = RecordingChat(), Asked()
    dead = await replica(nc, "dead", RecordingChat(), ask, behind=2 * STALE)
    await dead.accept(said("Ev6", "UADMIN", "change sampling always"))
    gw = await replica(nc, "alive", chat, ask)
    assert await sweeper(gw).sweep() == 1
    [(_, thread, text)] = chat.posts
    assert thread == "1.Ev6" and "Run `change sampling always`?" in text and RECOVERED in text
    assert ask.sent == []  # nothing runs without its confirmation
    await gw.on_click(ButtonClick(CONFIRM, confirmation_id("Ev6"), "UADMIN", "C1", "9.1"))
    assert ask.sent == ["sampling.set"]


async def test_a_question_the_dead_gateway_posted_is_the_one_that_stands(nc):
    dead_chat, chat, ask = RecordingChat(), RecordingChat(), Asked()
    dead = await replica(nc, "dead", dead_chat, ask, behind=2 * STALE)
    msg = said("Ev7", "UADMIN", "change sampling never")
    await dead.accept(msg)
    await dead._handle(msg)  # asked, then killed before the entry was marked done
    assert len(dead_chat.posts) == 1
    gw = await replica(nc, "alive", chat, ask)
    assert await sweeper(gw).sweep() == 1
    [(_, _, text)] = chat.posts
    assert "waits for your Confirm or Cancel above" in text and ask.sent == []
    # Confirmed on the first question: runs once; the id is the message's, so nothing else could.
    await gw.on_click(ButtonClick(CONFIRM, confirmation_id("Ev7"), "UADMIN", "C1", "9.1"))
    await gw.on_click(ButtonClick(CONFIRM, confirmation_id("Ev7"), "UADMIN", "C1", "9.1"))
    assert ask.sent == ["sampling.set"]


async def test_a_message_that_stops_every_gateway_is_given_up_on_and_said_so(nc):
    chat, ask = RecordingChat(), Asked()
    dead = await replica(nc, "dead", RecordingChat(), ask, behind=2 * STALE)
    accepted = await dead.accept(said("Ev8", "U1", "show sampling"))
    assert accepted.ticket is not None
    entry = accepted.ticket.entry
    entry.takeovers = MAX_TAKEOVERS  # taken over that often already, each taker stopped on it
    await dead.journal.kv.put(accepted.ticket.key, codec.encode(entry))  # type: ignore[union-attr]
    gw = await replica(nc, "alive", chat, ask)
    assert await sweeper(gw).sweep() == 1
    [(_, thread, text)] = chat.posts
    assert thread == "1.Ev8" and "could not answer" in text and ask.sent == []
    assert await sweeper(gw).sweep() == 0


class LostAndDown(LostAnswers):
    """A bucket whose create is stored with its answer lost while reads fail; it takes puts again."""

    async def put(self, key: str, value: bytes) -> int:
        return await self.kv.put(key, value)


async def test_a_message_journaled_while_the_bus_was_away_is_marked_done_once_answered(nc):
    chat, ask = RecordingChat(), Asked()
    gw = await replica(nc, "unsure", chat, ask)
    assert gw.journal is not None
    real = gw.journal.kv
    gw.journal.kv = LostAndDown(real, down=True)  # type: ignore[assignment]
    await gw.on_message(said("Ev9", "U1", "show sampling"))
    assert len(chat.posts) == 1
    assert gw.metrics.registry.get_sample_value("chatops_gateway_journal_errors_total") == 1.0
    # The create was stored after all: marked done with the answer, so no replica answers it again.
    assert codec.decode((await real.get("Ev9")).value or b"", JournalEntry).done
    assert await sweeper(await replica(nc, "other", chat, ask)).sweep() == 0


class NoConsumers:
    """JetStream on a bus where this identity may not make a consumer on the journal's stream."""

    def __init__(self, js: Any) -> None:
        self.js, self.tried = js, 0

    async def add_consumer(self, *args: Any, **kwargs: Any) -> None:
        self.tried += 1
        raise nats.errors.TimeoutError

    def __getattr__(self, name: str) -> Any:
        return getattr(self.js, name)


async def test_a_scan_reads_the_first_entries_one_by_one_and_the_rest_in_batches_alike(nc):
    dead = await journal_of(nc, "dead", behind=2 * STALE)
    for n in range(12):
        await dead.open(said(f"Ev10x{n}", "U1", "help"))
    await dead.kv.delete("Ev10x3")  # a delete marker is read as an entry without a value
    one_by_one = await scanned(Journal(dead.js, dead.kv, "a", few=1000))
    batched = await scanned(Journal(dead.js, dead.kv, "b", few=2))
    assert [(f.seq, f.key, f.entry) for f in batched] == [(f.seq, f.key, f.entry) for f in one_by_one]
    assert [f.key for f in batched] == [f"Ev10x{n}" for n in range(12) if n != 3] + ["Ev10x3"]
    assert batched[-1].entry is None and all(f.entry is not None for f in batched[:-1])
    # A bus whose permissions predate the sweep's consumer: read one by one, and not tried every scan.
    refusing = NoConsumers(dead.js)
    slow = Journal(refusing, dead.kv, "d", few=2)  # type: ignore[arg-type]
    assert [f.seq for f in await scanned(slow)] == [f.seq for f in one_by_one]
    assert [f.seq for f in await scanned(slow)] == [f.seq for f in one_by_one] and refusing.tried == 1
    after = batched[4].seq
    assert [f.seq for f in await scanned(Journal(dead.js, dead.kv, "c", few=1), after, 3)] == [
        f.seq for f in batched[5:8]
    ]
    # A sweep going on where the last stopped: past the few, through a consumer, to the end.
    gw = await replica(nc, "sweeper", RecordingChat(), Asked())
    assert gw.journal is not None
    gw.journal.few = 2
    recovery = sweeper(gw)
    assert await recovery.sweep() == TAKE_LIMIT and await recovery.sweep() == 11 - TAKE_LIMIT
    assert await recovery.sweep() == 0
    # Up to what the takeovers and the answers wrote last: nothing behind it is left to do.
    assert recovery.cursor == (await dead.js.stream_info(kv_stream(KV_JOURNAL))).state.last_seq
