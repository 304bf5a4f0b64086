"""The journal of chat messages a gateway has taken: a JournalEntry per message in a JetStream KV bucket,
written before Slack has its acknowledgement, renewed while answered, marked done once answered."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass, field

from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError, NotFoundError
from nats.js.kv import KeyValue

from chatops import codec, logs
from chatops.streams import kv_stream
from chatops.subjects import KV_JOURNAL
from chatops.v1.records_pb2 import JournalEntry
from gateway.seen import kv_key
from gateway.slack.events import ChatMessage

log = logs.get_logger(__name__)
REQUIRED = ("dedupe_key", "channel", "thread_ts", "user")  # without them there is no one to answer
SUBJECTS = f"$KV.{KV_JOURNAL}.>"
# A scan reads this many entries one request each, the rest in batches of BATCH through a consumer
# that the server drops once idle for CONSUMER_IDLE seconds (a gateway that dies mid-scan leaves none).
FEW = 32
BATCH = 256
CONSUMER_IDLE = 30.0
FETCH_TIMEOUT = 5.0
BATCH_AGAIN_AFTER = 600.0  # after a consumer could not be made, scans read one by one this long


class JournalError(Exception):
    """The journal could not be read or written (NATS down, a timeout); the text says why."""


@dataclass
class Ticket:
    """A journal entry held by this process, and the revision last written (for compare-and-set)."""

    key: str
    entry: JournalEntry
    revision: int
    # Its writes are compare-and-set on `revision`: the renewal task and the handler take turns.
    lock: asyncio.Lock = field(default_factory=asyncio.Lock, compare=False, repr=False)


@dataclass(frozen=True)
class Accepted:
    """What a gateway made of a message Slack handed it: answer it (`first`), and its journal entry."""

    first: bool
    ticket: Ticket | None = None


@dataclass(frozen=True)
class Found:
    """An entry read while sweeping: where it is in the bucket's stream, and its revision."""

    seq: int
    key: str
    entry: JournalEntry | None  # None: deleted or unreadable


def message_of(entry: JournalEntry) -> ChatMessage:
    """The chat message a journal entry holds."""
    return ChatMessage(
        dedupe_key=entry.dedupe_key,
        user=entry.user,
        channel=entry.channel,
        text=entry.text,
        ts=entry.ts,
        thread_ts=entry.thread_ts,
        direct=entry.direct,
        origin=tuple(entry.origin),
    )


def _found(seq: int, subject: str, headers: dict[str, str] | None, data: bytes | None) -> Found:
    """An entry as the bucket's stream holds it; a delete marker or an unreadable value has no entry."""
    key = subject.removeprefix(f"$KV.{KV_JOURNAL}.")
    deleted = (headers or {}).get("KV-Operation") in ("DEL", "PURGE")
    entry = None
    if data and not deleted:
        entry = codec.decode_record(data, JournalEntry, key=key, required=REQUIRED)
    return Found(seq, key, entry)


def _error(exc: Exception) -> JournalError:
    return JournalError(f"{type(exc).__name__}: {exc}")


class Journal:
    """Open, renew, close and take over journal entries; `owner` names this process in them."""

    def __init__(
        self,
        js: JetStreamContext,
        kv: KeyValue,
        owner: str,
        clock: Callable[[], float] = time.time,
        few: int = FEW,
    ) -> None:
        self.js, self.kv, self.owner, self.clock = js, kv, owner, clock
        self.few = few  # entries a scan reads one request each before it reads in batches
        self._batch_again_at = 0.0

    def _stamp(self, entry: JournalEntry) -> None:
        entry.holder = self.owner
        entry.held_at.FromNanoseconds(int(self.clock() * 1e9))

    def _restamped(self, entry: JournalEntry) -> JournalEntry:
        """A copy of `entry` held by this process as of now, to change and write in its place."""
        copy = JournalEntry()
        copy.CopyFrom(entry)
        self._stamp(copy)
        return copy

    async def open(self, msg: ChatMessage) -> Ticket | None:
        """Journal a message just taken from Slack: a Ticket, or None when it is journaled already (a
        Slack retry, or a copy another replica holds). Raises JournalError when the bucket cannot say."""
        ticket = self.draft(msg)
        key, entry = ticket.key, ticket.entry
        value = codec.encode(entry)
        try:
            return Ticket(key, entry, await self.kv.create(key, value))
        except KeyWrongLastSequenceError:
            return None
        except (NatsError, TimeoutError) as exc:
            lost = exc
        # The create may have been stored with its answer lost on the way back: the value says whose.
        try:
            stored = await self.kv.get(key)
        except KeyNotFoundError:
            raise _error(lost) from None
        except (NatsError, TimeoutError) as exc:
            raise _error(exc) from None
        return Ticket(key, entry, stored.revision or 0) if stored.value == value else None

    def draft(self, msg: ChatMessage) -> Ticket:
        """The entry `open` writes for a message, not written (revision 0). Held, such a ticket is not
        renewed, only marked done at the end: should its `open` have been stored after all (its answer
        lost, the bus away), no replica answers the message a second time."""
        key = kv_key(msg.dedupe_key)
        entry = JournalEntry(
            dedupe_key=msg.dedupe_key,
            channel=msg.channel,
            ts=msg.ts,
            thread_ts=msg.thread_ts,
            user=msg.user,
            text=msg.text,
            direct=msg.direct,
            origin=msg.origin,
            claim=uuid.uuid4().hex,
        )
        self._stamp(entry)
        entry.accepted_at.CopyFrom(entry.held_at)
        return Ticket(key, entry, 0)

    async def renew(self, ticket: Ticket) -> bool:
        """Say this process still answers it; False when another replica has taken it over."""
        return await self._rewrite(ticket)

    async def mark_audited(self, ticket: Ticket) -> bool:
        """Note in its entry that its refusal is in the audit log, so that a replica answering it again
        does not record it twice; False when another replica has taken it over. A draft (nothing of
        ours stored) keeps the mark for its done write."""
        if not ticket.revision:
            ticket.entry.audited = True
            return True
        return await self._rewrite(ticket, audited=True)

    async def _rewrite(self, ticket: Ticket, *, audited: bool = False) -> bool:
        async with ticket.lock:
            entry = self._restamped(ticket.entry)
            entry.audited = entry.audited or audited
            try:
                ticket.revision = await self.kv.update(ticket.key, codec.encode(entry), last=ticket.revision)
            except KeyWrongLastSequenceError:
                return False
            ticket.entry = entry
            return True

    async def close(self, ticket: Ticket) -> None:
        """Mark it done: answered (or refused, or asked to confirm), nothing is left to do."""
        entry = self._restamped(ticket.entry)
        entry.done = True
        ticket.revision = await self.kv.put(ticket.key, codec.encode(entry))
        ticket.entry = entry

    @contextlib.asynccontextmanager
    async def held(self, ticket: Ticket | None, every: float) -> AsyncIterator[None]:
        """Renew the entry every `every` seconds while the body answers it, then mark it done. Without a
        ticket (the journal was down when the message came) this does nothing."""
        if ticket is None:
            yield
            return
        renewing = None
        if ticket.revision:  # a draft has nothing of ours stored that a renewal could compare with
            renewing = asyncio.create_task(self._renewing(ticket, every), name=f"journal-renew-{ticket.key}")
        cancelled = False
        try:
            yield
        except asyncio.CancelledError:
            # The process stops before it could answer (past its drain): left open, another answers it.
            cancelled = True
            raise
        finally:
            if renewing is not None:
                renewing.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await renewing
            if not cancelled:  # answered, or failed and said so (a crash is logged, not tried again)
                await self._close_quietly(ticket)

    async def _close_quietly(self, ticket: Ticket) -> None:
        try:
            await self.close(ticket)
        except (NatsError, TimeoutError) as exc:
            # Left open, another replica answers it again later; the note there says it may repeat.
            log.warning("journal.not_closed", key=ticket.entry.dedupe_key, error=f"{type(exc).__name__}")

    async def _renewing(self, ticket: Ticket, every: float) -> None:
        while True:
            await asyncio.sleep(every)
            try:
                if not await self.renew(ticket):
                    log.warning("journal.taken_from_us", key=ticket.entry.dedupe_key)
                    return
            except (NatsError, TimeoutError) as exc:
                log.warning("journal.not_renewed", key=ticket.entry.dedupe_key, error=f"{type(exc).__name__}")

    async def scan(self, after: int, limit: int) -> AsyncGenerator[Found, None]:
        """Up to `limit` entries stored after stream sequence `after`, oldest write first (each key's
        latest write is all the bucket keeps), read as the caller goes. Raises JournalError when the
        bucket cannot say.

        The first `few` are read one request each, which is all a sweep usually finds; more (a gateway
        starting after a day of messages, or after an outage) are read in batches through a pull
        consumer made for this scan: 3 to 6 times faster, more so on a cluster (`bench/journal_sweep.py`).
        """
        seq, read = after, 0
        while read < limit:
            if read == self.few and self.clock() >= self._batch_again_at:
                batches = await self._consumer(seq)
                if batches is not None:
                    async with contextlib.aclosing(self._batched(*batches, limit - read)) as rest:
                        async for batched in rest:
                            yield batched
                    return
            found = await self._next(seq)
            if found is None:
                return
            yield found
            seq, read = found.seq, read + 1

    async def _next(self, after: int) -> Found | None:
        try:
            raw = await self.js.get_msg(kv_stream(KV_JOURNAL), after + 1, subject=SUBJECTS, next=True)
        except NotFoundError:
            return None
        except (NatsError, TimeoutError) as exc:
            raise _error(exc) from None
        return _found(raw.seq or after + 1, raw.subject or "", raw.headers, raw.data)

    async def _consumer(self, after: int) -> tuple[JetStreamContext.PullSubscription, int] | None:
        """A pull consumer of the entries after `after` (the server drops it once idle), and how many
        it has; None when it cannot be made (a bus whose permissions predate it): read one by one."""
        stream = kv_stream(KV_JOURNAL)
        config = ConsumerConfig(
            name=f"sweep-{uuid.uuid4().hex}",
            filter_subject=SUBJECTS,
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=after + 1,
            ack_policy=AckPolicy.NONE,
            inactive_threshold=CONSUMER_IDLE,
            mem_storage=True,
            num_replicas=1,
        )
        try:
            info = await self.js.add_consumer(stream, config)
            sub = await self.js.pull_subscribe_bind(stream=stream, name=config.name)
        except (NatsError, TimeoutError) as exc:
            self._batch_again_at = self.clock() + BATCH_AGAIN_AFTER
            log.warning("journal.reading_one_by_one", error=f"{type(exc).__name__}: {exc}")
            return None
        return sub, info.num_pending or 0

    async def _batched(
        self, sub: JetStreamContext.PullSubscription, pending: int, limit: int
    ) -> AsyncGenerator[Found, None]:
        try:
            left = min(limit, pending)
            while left > 0:
                try:
                    msgs = await sub.fetch(min(BATCH, left), timeout=FETCH_TIMEOUT)
                except TimeoutError:  # fewer than it had: entries expired meanwhile
                    return
                except NatsError as exc:
                    raise _error(exc) from None
                for msg in msgs:
                    left -= 1
                    yield _found(msg.metadata.sequence.stream, msg.subject, msg.headers, msg.data)
        finally:
            with contextlib.suppress(NatsError, TimeoutError):
                await sub.unsubscribe()

    def stale(self, entry: JournalEntry, after: float) -> bool:
        """True when it is not done and its holder, another process, has not renewed it for `after`
        seconds. This process's own entries are never stale: it is alive, so it is answering them (a
        stalled loop would otherwise sweep before it renews, and answer twice)."""
        if entry.done or entry.holder == self.owner:
            return False
        return self.clock() - entry.held_at.ToNanoseconds() / 1e9 >= after

    async def take(self, found: Found) -> Ticket | None:
        """Take a stale entry over with a compare-and-set: a Ticket for exactly one replica, else None."""
        assert found.entry is not None
        entry = self._restamped(found.entry)
        entry.takeovers += 1
        entry.claim = uuid.uuid4().hex
        try:
            revision = await self.kv.update(found.key, codec.encode(entry), last=found.seq)
        except KeyWrongLastSequenceError:
            return None
        except (NatsError, TimeoutError) as exc:
            raise _error(exc) from None
        return Ticket(found.key, entry, revision)
