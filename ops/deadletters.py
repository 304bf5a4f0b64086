"""CHATOPS_DEADLETTER read back, and dead letters sent to CHATOPS_ALERTS again.

The stream holds two kinds of event: a dead letter (chatops.deadletter.alerts, written by alert
delivery) and a replay marker (chatops.deadletter.replayed, written here). Whether a dead letter was
sent again is the projection of the markers. Dead letters are rare, so a listing reads at most the
newest SCAN_BUDGET events in one pass.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from google.protobuf.message import DecodeError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from chatops import codec
from chatops.subjects import (
    ALERTS_STREAM,
    DEADLETTER_ALERTS,
    DEADLETTER_PREFIX,
    DEADLETTER_REPLAYED,
    DEADLETTER_STREAM,
    H_MSG_ID,
    H_REPLAY_OF,
)
from chatops.v1.deadletters_pb2 import DeadLetter, DeadLetterReplayed

SCAN_BUDGET = 10_000
BATCH = 256
IDLE_CONSUMER = 5.0  # seconds a reading consumer outlives its last fetch


@dataclass(frozen=True)
class Shelf:
    """What the stream holds: dead letters (oldest first, with `sequence` and any replay filled in)."""

    letters: list[DeadLetter]

    @property
    def waiting(self) -> list[DeadLetter]:
        return [d for d in self.letters if not d.replayed_by]


class Unreplayable(Exception):
    """This dead letter cannot be sent again; the text says why."""


class DeadLetters:
    """Reads CHATOPS_DEADLETTER and puts dead letters back on CHATOPS_ALERTS."""

    def __init__(self, js: JetStreamContext, *, timeout: float = 5.0, scan_budget: int = SCAN_BUDGET) -> None:
        self.js = js
        self.timeout = timeout
        self.scan_budget = scan_budget

    async def shelf(self) -> Shelf:
        """Every dead letter among the newest `scan_budget` events, with what was replayed."""
        try:
            info = await self.js.stream_info(DEADLETTER_STREAM)
        except NotFoundError:
            return Shelf([])
        last = int(info.state.last_seq)
        if not info.state.messages or not last:
            return Shelf([])
        first = max(int(info.state.first_seq), last - self.scan_budget + 1, 1)
        letters: dict[int, DeadLetter] = {}
        replays: list[DeadLetterReplayed] = []
        for seq, subject, data in await self._read(first, last):
            with contextlib.suppress(DecodeError):
                if subject == DEADLETTER_ALERTS:
                    letter = DeadLetter.FromString(data)
                    letter.sequence = seq
                    letters[seq] = letter
                elif subject == DEADLETTER_REPLAYED:
                    replays.append(DeadLetterReplayed.FromString(data))
        for replay in replays:
            replayed = letters.get(replay.dead_letter)
            if replayed is not None:
                replayed.replayed_at.CopyFrom(replay.time)
                replayed.replayed_by = replay.actor or "anonymous"
        return Shelf([letters[s] for s in sorted(letters)])

    async def replay(self, letter: DeadLetter, actor: str) -> int:
        """Publish its notification on its old subject (once, however often asked), then mark it."""
        if letter.replayed_by:
            raise Unreplayable(f"{letter.sequence}: already sent again by {letter.replayed_by}")
        if not letter.HasField("notification"):
            raise Unreplayable(f"{letter.sequence}: it could not be read as a notification; nothing to send")
        ack = await self.js.publish(
            letter.subject,
            codec.encode(letter.notification),
            stream=ALERTS_STREAM,
            headers={H_MSG_ID: f"replay:{letter.sequence}", H_REPLAY_OF: str(letter.sequence)},
            timeout=self.timeout,
        )
        marker = DeadLetterReplayed(dead_letter=letter.sequence, actor=actor, alert_seq=int(ack.seq))
        marker.time.GetCurrentTime()
        await self.js.publish(
            DEADLETTER_REPLAYED,
            codec.encode(marker),
            stream=DEADLETTER_STREAM,
            headers={H_MSG_ID: f"replayed:{letter.sequence}"},
            timeout=self.timeout,
        )
        return int(ack.seq)

    async def _read(self, lo: int, hi: int) -> list[tuple[int, str, bytes]]:
        """Events lo..hi in order, through one short-lived consumer."""
        config = ConsumerConfig(
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=lo,
            ack_policy=AckPolicy.NONE,
            filter_subject=f"{DEADLETTER_PREFIX}.>",
            inactive_threshold=IDLE_CONSUMER,
        )
        sub = await self.js.pull_subscribe(f"{DEADLETTER_PREFIX}.>", stream=DEADLETTER_STREAM, config=config)
        out: list[tuple[int, str, bytes]] = []
        try:
            wanted = min(int((await sub.consumer_info()).num_pending or 0), hi - lo + 1)
            while wanted > 0:
                msgs = await sub.fetch(batch=min(wanted, BATCH), timeout=self.timeout)
                for msg in msgs:
                    seq = int(msg.metadata.sequence.stream)
                    if seq > hi:
                        return out
                    out.append((seq, msg.subject, msg.data))
                    wanted -= 1
                if not msgs:
                    break
        finally:
            # The server drops the consumer once idle; deleting it would need a right that could
            # delete other consumers too, which no reader is granted.
            with contextlib.suppress(Exception):
                await sub.unsubscribe()
        return out
