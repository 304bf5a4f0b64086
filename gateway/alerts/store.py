"""The alert-group -> Slack message projection, kept in the KV bucket KV_ALERT_MESSAGES."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime

from nats.js.errors import KeyDeletedError, KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from gateway.alerts.render import Silenced


def group_ref(group_key: str) -> str:
    """A KV-safe, fixed-length key for a group key (which holds braces, quotes and spaces)."""
    return hashlib.sha256(group_key.encode()).hexdigest()[:40]


@dataclass(frozen=True)
class MessageRecord:
    """Where a group's message is, and which notification (stream sequence) it shows."""

    channel: str
    ts: str
    group_key: str
    applied_seq: int  # the message shows this notification
    replied_seq: int  # the thread reply for this notification is posted
    resolved: bool = False
    labels: dict[str, str] = field(default_factory=dict)  # common labels: the silence matchers
    silenced_by: str = ""
    silenced_until: float = 0.0
    silence_id: str = ""
    silence_url: str = ""

    def silenced(self, now: datetime | None = None) -> Silenced | None:
        """The silence to show, if one was made from chat and has not ended."""
        now = now or datetime.now(UTC)
        if not self.silenced_by or self.silenced_until <= now.timestamp():
            return None
        until = datetime.fromtimestamp(self.silenced_until, UTC)
        return Silenced(self.silenced_by, until, self.silence_id, self.silence_url)

    def encode(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True).encode()

    @classmethod
    def decode(cls, data: bytes) -> MessageRecord:
        raw = json.loads(data)
        return cls(**{k: v for k, v in raw.items() if k in cls.__dataclass_fields__})


class MessageStore:
    """Read and change records with compare-and-set, so replicas and button clicks don't clobber."""

    def __init__(self, kv: KeyValue) -> None:
        self.kv = kv

    async def get(self, ref: str) -> MessageRecord | None:
        try:
            entry = await self.kv.get(ref)
        except (KeyNotFoundError, KeyDeletedError):
            return None
        return MessageRecord.decode(entry.value) if entry.value else None

    async def put(self, ref: str, record: MessageRecord) -> None:
        """Write unconditionally (a new message replaces whatever was there)."""
        await self.kv.put(ref, record.encode())

    async def modify(
        self, ref: str, change: Callable[[MessageRecord], MessageRecord], attempts: int = 10
    ) -> MessageRecord | None:
        """Apply `change` to the current record and write it back unless someone wrote in between."""
        for _ in range(attempts):
            try:
                entry = await self.kv.get(ref)
            except (KeyNotFoundError, KeyDeletedError):
                return None
            if not entry.value:
                return None
            updated = change(MessageRecord.decode(entry.value))
            try:
                await self.kv.update(ref, updated.encode(), last=entry.revision)
            except KeyWrongLastSequenceError:
                continue
            return updated
        raise RuntimeError(f"record {ref} kept changing under us")


def with_silence(record: MessageRecord, silenced: Silenced) -> MessageRecord:
    """The record with a silence noted."""
    return replace(
        record,
        silenced_by=silenced.user_id,
        silenced_until=silenced.until.timestamp(),
        silence_id=silenced.silence_id,
        silence_url=silenced.url,
    )
