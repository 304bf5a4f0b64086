"""The audit log on JetStream: append one AuditEvent per command, read them back newest first."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from google.protobuf.message import DecodeError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from chatops.subjects import AUDIT_PREFIX, AUDIT_STREAM, audit_subject, token
from chatops.v1.audit_pb2 import AuditEvent

FIRST_WINDOW = 256
IDLE_CONSUMER = 5.0  # seconds a reading consumer outlives its last fetch
MAX_WINDOW = 8192
SCAN_BUDGET = 20_000  # newest events one search reads at most: `history user=@nobody` stays cheap


@dataclass(frozen=True)
class AuditFilter:
    """What audit.list asks for: all set fields must match."""

    limit: int
    actor: str = ""
    command: str = ""  # "sampling.set", or a noun: "sampling"
    since_ns: int = 0

    @property
    def subject(self) -> str:
        """The narrowest subject filter: the command's own subject, a noun's wildcard, or everything."""
        if not self.command:
            return f"{AUDIT_PREFIX}.>"
        if "." in self.command:
            return audit_subject(self.command)
        return f"{AUDIT_PREFIX}.{token(self.command)}.>"

    def keeps(self, event: AuditEvent) -> bool:
        if self.actor and event.actor != self.actor:
            return False
        return not (self.since_ns and event.time.ToNanoseconds() < self.since_ns)


@dataclass(frozen=True)
class AuditSearch:
    """What a search found, and how much of the log it did not reach."""

    events: list[AuditEvent]
    unsearched: int = 0  # sequences older than the budget reached
    searched_back_to_ns: int = 0  # time of the oldest event read, when unsearched > 0


class AuditLog:
    """Appends to and reads CHATOPS_AUDIT."""

    def __init__(self, js: JetStreamContext, *, timeout: float = 5.0, scan_budget: int = SCAN_BUDGET) -> None:
        self.js = js
        self.timeout = timeout
        self.scan_budget = scan_budget

    async def append(self, event: AuditEvent) -> int:
        """Store one event; returns its stream sequence."""
        ack = await self.js.publish(
            audit_subject(event.command), event.SerializeToString(), stream=AUDIT_STREAM, timeout=self.timeout
        )
        return int(ack.seq)

    async def read(self, flt: AuditFilter) -> list[AuditEvent]:
        """Newest first, up to `limit` events (see `search`)."""
        return (await self.search(flt)).events

    async def search(self, flt: AuditFilter) -> AuditSearch:
        """Newest first: walk the stream backwards in growing windows until `limit` events are found,
        the events are older than `since`, or `scan_budget` sequences have been read."""
        try:
            info = await self.js.stream_info(AUDIT_STREAM)
        except NotFoundError:
            return AuditSearch([])
        first, last = int(info.state.first_seq), int(info.state.last_seq)
        found: list[AuditEvent] = []
        # Without an actor to match, every event the subject filter delivers is kept: `limit` of them
        # may be all there is to read (`history` asks for the last few, many times a day).
        hi, window = last, FIRST_WINDOW if flt.actor else flt.limit
        oldest_ns = 0
        while hi >= first and hi > 0 and len(found) < flt.limit:
            budget = self.scan_budget - (last - hi)
            if budget <= 0:
                return AuditSearch(found, hi - first + 1, oldest_ns)
            lo = max(first, hi - min(window, budget) + 1)
            batch = await self._window(flt.subject, lo, hi)
            older = False
            for event in reversed(batch):
                oldest_ns = event.time.ToNanoseconds()
                if flt.since_ns and oldest_ns < flt.since_ns:
                    older = True  # the log is in time order: nothing before this can match
                    continue
                if flt.keeps(event):
                    found.append(event)
                    if len(found) == flt.limit:
                        break
            if older:
                break
            hi, window = lo - 1, min(window * 4, MAX_WINDOW)
        return AuditSearch(found)

    async def _window(self, subject: str, lo: int, hi: int) -> list[AuditEvent]:
        """Events with sequence lo..hi on `subject`, oldest first, through one short-lived consumer."""
        config = ConsumerConfig(
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=lo,
            ack_policy=AckPolicy.NONE,
            filter_subject=subject,
            inactive_threshold=IDLE_CONSUMER,
        )
        sub = await self.js.pull_subscribe(subject, stream=AUDIT_STREAM, config=config)
        events: list[AuditEvent] = []
        try:
            info = await sub.consumer_info()
            wanted = min(int(info.num_pending or 0), hi - lo + 1)
            while wanted > 0:
                msgs = await sub.fetch(batch=wanted, timeout=self.timeout)
                done = False
                for msg in msgs:
                    seq = int(msg.metadata.sequence.stream)
                    if seq > hi:
                        done = True
                        break
                    with contextlib.suppress(DecodeError):
                        event = AuditEvent.FromString(msg.data)
                        event.sequence = seq
                        events.append(event)
                    wanted -= 1
                if done or not msgs:
                    break
        finally:
            # The server drops the consumer once idle; deleting it would need a right that could
            # delete other consumers too, which no reader is granted.
            with contextlib.suppress(Exception):
                await sub.unsubscribe()
        return events
