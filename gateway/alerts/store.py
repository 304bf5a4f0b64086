"""The alert-group -> chat message projection: AlertMessageRecord values in KV_ALERT_MESSAGES."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from nats.js.errors import KeyDeletedError, KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from chatops import codec
from chatops.v1.records_pb2 import AlertMessageRecord, ChatSilence

REQUIRED = ("channel", "ts")  # a record without them cannot find its message


def group_ref(group_key: str) -> str:
    """A KV-safe, fixed-length key for a group key (which holds braces, quotes and spaces)."""
    return hashlib.sha256(group_key.encode()).hexdigest()[:40]


def live_silence(record: AlertMessageRecord, now: datetime | None = None) -> ChatSilence | None:
    """The silence to show, if one was made from chat and has not ended."""
    if not record.HasField("silence") or not record.silence.user_id:
        return None
    until = record.silence.until.ToDatetime(tzinfo=UTC)
    return record.silence if until > (now or datetime.now(UTC)) else None


def applied(
    record: AlertMessageRecord, seq: int, resolved: bool, labels: Mapping[str, str]
) -> AlertMessageRecord:
    """The record once its message shows notification `seq`."""
    out = _copy(record)
    out.applied_seq = max(out.applied_seq, seq)
    out.resolved = resolved
    out.labels.clear()
    out.labels.update(labels)
    return out


def replied(record: AlertMessageRecord, seq: int) -> AlertMessageRecord:
    """The record once the thread reply for notification `seq` is posted."""
    out = _copy(record)
    out.replied_seq = max(out.replied_seq, seq)
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


class MessageStore:
    """Read and change records with compare-and-set, so replicas and button clicks don't clobber."""

    def __init__(self, kv: KeyValue) -> None:
        self.kv = kv

    async def get(self, ref: str) -> AlertMessageRecord | None:
        """The record, or None when there is none or it cannot be read (then the group starts afresh)."""
        try:
            entry = await self.kv.get(ref)
        except (KeyNotFoundError, KeyDeletedError):
            return None
        return self._decode(ref, entry.value)

    async def put(self, ref: str, record: AlertMessageRecord) -> None:
        """Write unconditionally (a new message replaces whatever was there)."""
        await self.kv.put(ref, codec.encode(record))

    async def modify(
        self, ref: str, change: Callable[[AlertMessageRecord], AlertMessageRecord], attempts: int = 10
    ) -> AlertMessageRecord | None:
        """Apply `change` to the current record and write it back unless someone wrote in between."""
        for _ in range(attempts):
            try:
                entry = await self.kv.get(ref)
            except (KeyNotFoundError, KeyDeletedError):
                return None
            current = self._decode(ref, entry.value)
            if current is None:
                return None
            updated = change(current)
            try:
                await self.kv.update(ref, codec.encode(updated), last=entry.revision)
            except KeyWrongLastSequenceError:
                continue
            return updated
        raise RuntimeError(f"record {ref} kept changing under us")

    @staticmethod
    def _decode(ref: str, value: bytes | None) -> AlertMessageRecord | None:
        if not value:
            return None
        return codec.decode_record(value, AlertMessageRecord, key=ref, required=REQUIRED)
