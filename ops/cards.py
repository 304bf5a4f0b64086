"""The card events ops writes (acks, silences) on CHATOPS_CARDS, and finding a card by what a person
calls it, in the gateway's projection (the bucket chatops_alert_messages, read-only here)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from nats.js import JetStreamContext
from nats.js.api import PubAck
from nats.js.errors import APIError, NotFoundError

from chatops import codec, logs
from chatops.cardref import ref_prefix, short_ref
from chatops.errors import BAD_REQUEST, NOT_FOUND
from chatops.streamread import read, sequence
from chatops.streams import kv_stream
from chatops.subjects import CARDS_STREAM, H_MSG_ID, KV_ALERT_MESSAGES, ack_subject, silence_subject
from chatops.v1.cards_pb2 import AckEvent, SilenceEvent
from chatops.v1.records_pb2 import AlertMessageRecord
from ops.errors import OpsError

log = logs.get_logger(__name__)
E = TypeVar("E", AckEvent, SilenceEvent)

MAX_CARDS = 5000  # records one look-up reads at most
WRONG_LAST_SEQUENCE = 10071  # JetStream: the subject's last sequence is not what the publisher expected
EXPECT_LAST = "Nats-Expected-Last-Subject-Sequence"


class Raced(Exception):
    """Another event landed on the subject between our read and our append: read again."""


@dataclass(frozen=True)
class Card:
    """A card found: its key and its record."""

    ref: str
    record: AlertMessageRecord

    @property
    def alertnames(self) -> list[str]:
        name = self.record.labels.get("alertname")
        return [name] if name else []


@dataclass(frozen=True)
class Stored:
    """The latest message on a card event subject, as the stream holds it."""

    subject: str
    data: bytes
    seq: int
    stored: float  # when the stream stored it, seconds since the epoch


class CardLog:
    """Appends ack and silence events, reads their latest state, and finds cards."""

    def __init__(self, js: JetStreamContext, *, timeout: float = 5.0) -> None:
        self.js = js
        self.timeout = timeout

    async def last_ack(self, ref: str) -> AckEvent | None:
        """The card's ack state: the latest event on its subject, with its sequence."""
        return await self._last(ack_subject(ref), AckEvent)

    async def last_silence(self, silence_id: str) -> SilenceEvent | None:
        """A silence's state as last recorded, with its sequence."""
        return await self._last(silence_subject(silence_id), SilenceEvent)

    async def _last(self, subject: str, cls: type[E]) -> E | None:
        latest = await self.latest(subject)
        if latest is None:
            return None
        event = codec.decode_record(latest.data, cls, key=subject, required=())
        if event is not None:
            event.sequence = latest.seq
        return event

    async def latest(self, subject: str) -> Stored | None:
        """The latest message on `subject`, with when it was stored (None when there is none)."""
        try:
            raw = await self.js.get_last_msg(CARDS_STREAM, subject)
        except NotFoundError:
            return None
        stored = raw.time.timestamp() if raw.time is not None else 0.0
        return Stored(subject, raw.data or b"", int(raw.seq or 0), stored)

    async def _append_after(self, subject: str, data: bytes, msg_id: str, after: int) -> PubAck | None:
        """Publish `data` on `subject` under `msg_id` if the subject's last event is still sequence
        `after` (0: none); None when it is not."""
        headers = {H_MSG_ID: msg_id, EXPECT_LAST: str(after)}
        try:
            return await self.js.publish(
                subject, data, stream=CARDS_STREAM, timeout=self.timeout, headers=headers
            )
        except APIError as exc:
            if exc.err_code == WRONG_LAST_SEQUENCE:
                return None
            raise

    async def append_again(self, latest: Stored, data: bytes) -> bool:
        """Append `data`, a copy of `latest` (ops/cardkeeper.py), if `latest` is still the latest on its
        subject; False when another event, or another replica's copy, came first."""
        msg_id = f"renew:{latest.subject}:{latest.seq}"
        ack = await self._append_after(latest.subject, data, msg_id, latest.seq)
        return ack is not None and not ack.duplicate

    async def append_ack(self, event: AckEvent, after: int) -> int:
        """Append if the card's last ack event is still sequence `after` (0: none); Raced if not, or
        if this request's event is there already."""
        # One id per request and state it changes: a publish sent twice is stored once, and a client
        # that reuses its request id for a later command is not mistaken for a retry.
        verb = "ack" if event.acked else "unack"
        msg_id = f"{verb}:{event.request_id}:{after}"
        ack = await self._append_after(ack_subject(event.ref), codec.encode(event), msg_id, after)
        # None: another event came first; a duplicate: this very request was appended before (a retry).
        # Either way, decide on what is there.
        if ack is None or ack.duplicate:
            raise Raced(event.ref)
        return int(ack.seq)

    async def append_silence(self, event: SilenceEvent, msg_id: str) -> bool:
        """Append a silence's new state; False when the same change was appended already (dedupe)."""
        ack = await self.js.publish(
            silence_subject(event.silence_id),
            codec.encode(event),
            stream=CARDS_STREAM,
            timeout=self.timeout,
            headers={H_MSG_ID: msg_id},
        )
        return not ack.duplicate

    async def cards(self) -> list[Card]:
        """Every card the projection holds (at most MAX_CARDS), oldest written first."""
        found = await read(
            self.js,
            kv_stream(KV_ALERT_MESSAGES),
            f"$KV.{KV_ALERT_MESSAGES}.>",
            last_per_subject=True,
            limit=MAX_CARDS,
            timeout=self.timeout,
        )
        cards = []
        for msg in sorted(found.msgs, key=sequence):
            ref = msg.subject.rsplit(".", 1)[-1]
            record = codec.decode_record(msg.data or b"", AlertMessageRecord, key=ref, required=())
            if record is not None and (record.ts or record.group_key):
                cards.append(Card(ref, record))
        return cards

    async def find(self, alert: str) -> Card:
        """The card `alert` names: a ref (or its start) shown on a card, or an alert name. With several,
        the only one still firing; 404 when there is none, 400 naming them when it is not clear which."""
        text = alert.strip()
        if not text:
            raise OpsError(
                BAD_REQUEST, "say which alert: the ref shown on its card (e.g. 3fa2c1d0) or its name"
            )
        prefix = ref_prefix(text)
        cards = await self.cards()
        if prefix is not None:
            found = [c for c in cards if c.ref.startswith(prefix)]
        else:
            found = [c for c in cards if c.record.labels.get("alertname") == text]
        if not found:
            raise OpsError(
                NOT_FOUND,
                f"no alert card {text!r}: give the ref shown on the card (e.g. 3fa2c1d0) or an alert's name",
            )
        firing = [c for c in found if not c.record.resolved]
        if len(firing) == 1 or (not firing and len(found) == 1):
            return (firing or found)[0]
        if not firing:
            return found[-1]  # every one resolved: the latest answers "nothing to acknowledge"
        refs = ", ".join(short_ref(c.ref) for c in firing[:10])
        raise OpsError(
            BAD_REQUEST, f"{len(firing)} firing cards match {text!r} ({refs}): give one of these refs"
        )
