"""The alert-group -> chat message projection: AlertMessageRecord values in KV_ALERT_MESSAGES.

A group's notifications are ordered by `Mark`: when the notifier received one, then its id (the
content hash). Stream sequences are not used for order: they restart at 1 in a recreated
CHATOPS_ALERTS, and a replayed dead letter comes back with a new one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp
from nats.js.errors import KeyDeletedError, KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from chatops import codec
from chatops.cardref import group_ref as group_ref  # where the card's key was always imported from
from chatops.v1.events_pb2 import AlertNotification
from chatops.v1.records_pb2 import AlertMessageRecord, ChatClaim, ChatSilence

REQUIRED = ("channel", "ts")  # an unclaimed record without them cannot find its message
MAX_NOTES = 100  # thread notes remembered per episode
REANNOUNCE = "reannounce:"  # the start of a re-announcement's note id
# (nanoseconds since the epoch when the notifier received it, notification id)
Mark = tuple[int, str]
NOTHING: Mark = (0, "")


def mark_of(note: AlertNotification, stored_ns: int = 0) -> Mark:
    """The notification's place in its group's order (the stream's time when the notifier set none)."""
    at = note.received_at.ToNanoseconds() if note.HasField("received_at") else stored_ns
    return (at, note.notification_id)


def shown(record: AlertMessageRecord) -> Mark:
    """The notification the message shows (records of wave-1 gateways have none: NOTHING)."""
    return (record.applied_at.ToNanoseconds(), record.applied_id) if record.applied_id else NOTHING


def answered(record: AlertMessageRecord) -> Mark:
    """The notification whose thread reply is posted."""
    return (record.replied_at.ToNanoseconds(), record.replied_id) if record.replied_id else NOTHING


def live_silence(record: AlertMessageRecord, now: datetime | None = None) -> ChatSilence | None:
    """The silence to show, if one was made from chat and has not ended."""
    if not record.HasField("silence") or not record.silence.user_id:
        return None
    until = record.silence.until.ToDatetime(tzinfo=UTC)
    return record.silence if until > (now or datetime.now(UTC)) else None


def _stamp(ns: int) -> Timestamp:
    ts = Timestamp()
    ts.FromNanoseconds(ns)
    return ts


def claimed(record: AlertMessageRecord | None, claim: ChatClaim) -> AlertMessageRecord:
    """The record (a bare one for a group without a message yet) with `claim` set."""
    out = _copy(record) if record is not None else AlertMessageRecord()
    out.claim.CopyFrom(claim)
    return out


def unclaimed(record: AlertMessageRecord) -> AlertMessageRecord:
    out = _copy(record)
    out.ClearField("claim")
    return out


def posted(
    record: AlertMessageRecord | None,
    *,
    channel: str,
    ts: str,
    note: AlertNotification,
    mark: Mark,
    seq: int,
    resolved: bool,
) -> AlertMessageRecord:
    """A new message shows `note`: the group starts afresh (no silence, no claim) at that message."""
    out = AlertMessageRecord(channel=channel, ts=ts, group_key=note.group_key, resolved=resolved)
    if record is not None:
        # Fields a newer gateway added survive; what this one knows is written anew.
        out.MergeFrom(_unknown_only(record))
    out.labels.update(note.common_labels)
    out.applied_id = out.replied_id = out.episode_id = mark[1]
    out.applied_at.CopyFrom(_stamp(mark[0]))
    out.replied_at.CopyFrom(_stamp(mark[0]))
    out.opened_at.CopyFrom(_stamp(mark[0]))
    starts = [a.starts_at.ToNanoseconds() for a in note.alerts if a.HasField("starts_at")]
    out.fired_at.CopyFrom(_stamp(min(starts) if starts else mark[0]))
    out.applied_seq = out.replied_seq = seq
    return out


def applied(
    record: AlertMessageRecord, mark: Mark, seq: int, resolved: bool, labels: Mapping[str, str]
) -> AlertMessageRecord:
    """The record once its message shows the notification at `mark`."""
    out = _copy(record)
    out.applied_id = mark[1]
    out.applied_at.CopyFrom(_stamp(mark[0]))
    out.applied_seq = seq
    out.resolved = resolved
    out.labels.clear()
    out.labels.update(labels)
    return out


def replied(record: AlertMessageRecord, mark: Mark, seq: int) -> AlertMessageRecord:
    """The record once the thread reply for the notification at `mark` is posted."""
    out = _copy(record)
    out.replied_id = mark[1]
    out.replied_at.CopyFrom(_stamp(mark[0]))
    out.replied_seq = seq
    return out


def noted(record: AlertMessageRecord, note_id: str, at: Timestamp) -> AlertMessageRecord:
    """The record once the thread note `note_id` is posted (a re-announcement counts as one more)."""
    out = _copy(record)
    if note_id not in out.notes:
        out.notes.append(note_id)
        del out.notes[:-MAX_NOTES]
        if note_id.startswith(REANNOUNCE):
            out.reannounced += 1
            out.reannounced_at.CopyFrom(at)
    return out


def drawn(record: AlertMessageRecord, digest: str, resolved: bool) -> AlertMessageRecord:
    """The record once its card is shown as `digest` (resolved: every alert of it seen resolved)."""
    out = _copy(record)
    out.card_digest = digest
    out.resolved = out.resolved or resolved
    return out


def with_silence(record: AlertMessageRecord, silence: ChatSilence) -> AlertMessageRecord:
    """The record with a silence noted."""
    out = _copy(record)
    out.silence.CopyFrom(silence)
    return out


def _copy(record: AlertMessageRecord) -> AlertMessageRecord:
    out = AlertMessageRecord()
    out.CopyFrom(record)  # unknown fields too: a newer writer's fields survive our write
    return out


def _unknown_only(record: AlertMessageRecord) -> AlertMessageRecord:
    """Only the fields this version does not know, to carry over into a record written anew."""
    out = AlertMessageRecord()
    out.MergeFromString(record.SerializeToString())
    for field in out.DESCRIPTOR.fields:
        out.ClearField(field.name)
    return out


class RecordChanged(Exception):
    """Someone else wrote the record between our read and our write."""


class MessageStore:
    """Read and change records with compare-and-set, so replicas and button clicks don't clobber."""

    def __init__(self, kv: KeyValue) -> None:
        self.kv = kv

    async def get(self, ref: str) -> AlertMessageRecord | None:
        """The record, or None when there is none or it cannot be read (then the group starts afresh)."""
        return (await self.read(ref))[0]

    async def read(self, ref: str) -> tuple[AlertMessageRecord | None, int]:
        """The record and its revision (0 when the key holds nothing: create it)."""
        try:
            entry = await self.kv.get(ref)
        except (KeyNotFoundError, KeyDeletedError):
            return None, 0
        return self._decode(ref, entry.value), int(entry.revision or 0)

    async def write(self, ref: str, record: AlertMessageRecord, revision: int) -> int:
        """Write if the record is still at `revision` (0: still absent); RecordChanged if not."""
        try:
            if revision:
                return int(await self.kv.update(ref, codec.encode(record), last=revision))
            return int(await self.kv.create(ref, codec.encode(record)))
        except KeyWrongLastSequenceError:
            raise RecordChanged(ref) from None

    async def modify(
        self, ref: str, change: Callable[[AlertMessageRecord], AlertMessageRecord], attempts: int = 10
    ) -> AlertMessageRecord | None:
        """Apply `change` to the current record and write it back unless someone wrote in between."""
        for _ in range(attempts):
            current, revision = await self.read(ref)
            if current is None:
                return None
            updated = change(current)
            try:
                await self.write(ref, updated, revision)
            except RecordChanged:
                continue
            return updated
        raise RuntimeError(f"record {ref} kept changing under us")

    @staticmethod
    def _decode(ref: str, value: bytes | None) -> AlertMessageRecord | None:
        if not value:
            return None
        record = codec.decode_record(value, AlertMessageRecord, key=ref, required=())
        if record is None or record.HasField("claim"):
            return record  # a claimed record may not find a message yet: its post is under way
        # Otherwise one that does not find its message is of no use (logged as such).
        return codec.decode_record(value, AlertMessageRecord, key=ref, required=REQUIRED)
