"""Pending confirmations, PendingConfirmation records in a JetStream KV bucket: any replica finishes one."""

from __future__ import annotations

import hashlib
import time
import uuid

from nats.js.errors import KeyDeletedError, KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from chatops import codec
from chatops.v1.records_pb2 import PendingConfirmation
from gateway.commands import Request

REQUIRED = (
    "id",
    "command",
    "actor",
)  # without them a Confirm could not run the right thing for the right person


def confirmation_id(dedupe_key: str) -> str:
    """The confirmation id of a chat message: the same for the gateway that took it and for one that
    takes it over after that one stopped, so that one message never has two questions that can run."""
    return hashlib.sha256(f"confirm:{dedupe_key}".encode()).hexdigest()[:32]


def expired(pending: PendingConfirmation, now: float | None = None) -> bool:
    """True once the question's time is up."""
    return (time.time() if now is None else now) >= pending.expires_at.ToNanoseconds() / 1e9


def pending_for(
    req: Request,
    *,
    actor: str,
    actor_name: str,
    channel: str,
    thread_ts: str,
    ttl: float,
    now: float | None = None,
    pending_id: str = "",
) -> PendingConfirmation:
    """A new PendingConfirmation for `req`, expiring `ttl` seconds after `now` (the current time);
    its id is `pending_id` (see `confirmation_id`), else a random one."""
    pending = PendingConfirmation(
        id=pending_id or uuid.uuid4().hex,
        command=req.command.name,
        request=req.message.SerializeToString(),
        text=req.text,
        actor=actor,
        actor_name=actor_name,
        channel=channel,
        thread_ts=thread_ts,
    )
    pending.expires_at.FromNanoseconds(int(((time.time() if now is None else now) + ttl) * 1e9))
    return pending


class Confirmations:
    """Save, look up and take pending confirmations; taking succeeds on exactly one replica."""

    def __init__(self, kv: KeyValue) -> None:
        self._kv = kv

    async def save(self, pending: PendingConfirmation) -> None:
        await self._kv.put(pending.id, codec.encode(pending))

    async def get(self, pending_id: str) -> tuple[PendingConfirmation, int] | None:
        """The pending confirmation and its revision, or None when unknown, taken or unreadable."""
        if not pending_id or not pending_id.isalnum():
            return None
        try:
            entry = await self._kv.get(pending_id)
        except (KeyNotFoundError, KeyDeletedError):
            return None
        if not entry.value:
            return None
        pending = codec.decode_record(entry.value, PendingConfirmation, key=pending_id, required=REQUIRED)
        return None if pending is None else (pending, entry.revision or 0)

    async def known(self, pending_id: str) -> bool:
        """True when a confirmation with this id was saved (pending, or handled since)."""
        try:
            await self._kv.get(pending_id)
        except (KeyNotFoundError, KeyDeletedError):
            return False
        return True

    async def take(self, pending_id: str, revision: int) -> bool:
        """Mark it handled; False when another click or replica took it first."""
        try:
            await self._kv.update(pending_id, b"", last=revision)
        except KeyWrongLastSequenceError:
            return False
        return True

    async def attach_message(self, pending: PendingConfirmation, message_ts: str) -> PendingConfirmation:
        """Remember which message holds the buttons, so any replica can update it."""
        done = PendingConfirmation()
        done.CopyFrom(pending)
        done.message_ts = message_ts
        await self._kv.put(pending.id, codec.encode(done))
        return done
