"""Pending confirmations in a JetStream KV bucket, so any gateway replica can finish one."""

from __future__ import annotations

import base64
import json
import time
import uuid
from dataclasses import asdict, dataclass, replace
from typing import Any

from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from chatops.contract import Command, command
from gateway.commands import Request


@dataclass(frozen=True)
class Pending:
    """A change an admin asked for, waiting for their Confirm."""

    id: str
    command: str
    request: bytes  # the chatops.v1 request, protobuf binary
    text: str
    actor: str
    actor_name: str
    channel: str
    thread_ts: str
    expires_at: float  # epoch seconds
    message_ts: str = ""

    @property
    def bus_command(self) -> Command[Any, Any]:
        return command(self.command)

    def expired(self, now: float | None = None) -> bool:
        return (time.time() if now is None else now) >= self.expires_at

    def to_json(self) -> bytes:
        data = asdict(self)
        data["request"] = base64.b64encode(self.request).decode()
        return json.dumps(data).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> Pending:
        data = json.loads(raw)
        data["request"] = base64.b64decode(data["request"])
        return cls(**data)


def pending_for(
    req: Request, *, actor: str, actor_name: str, channel: str, thread_ts: str, ttl: float
) -> Pending:
    """A new Pending for `req`, expiring `ttl` seconds from now."""
    return Pending(
        id=uuid.uuid4().hex,
        command=req.command.name,
        request=req.message.SerializeToString(),
        text=req.text,
        actor=actor,
        actor_name=actor_name,
        channel=channel,
        thread_ts=thread_ts,
        expires_at=time.time() + ttl,
    )


class Confirmations:
    """Save, look up and take pending confirmations; taking succeeds on exactly one replica."""

    def __init__(self, kv: KeyValue) -> None:
        self._kv = kv

    async def save(self, pending: Pending) -> None:
        await self._kv.put(pending.id, pending.to_json())

    async def get(self, pending_id: str) -> tuple[Pending, int] | None:
        """The pending confirmation and its revision, or None when unknown or already taken."""
        if not pending_id or not pending_id.isalnum():
            return None
        try:
            entry = await self._kv.get(pending_id)
        except KeyNotFoundError:
            return None
        if not entry.value:
            return None
        return Pending.from_json(entry.value), entry.revision or 0

    async def take(self, pending_id: str, revision: int) -> bool:
        """Mark it handled; False when another click or replica took it first."""
        try:
            await self._kv.update(pending_id, b"", last=revision)
        except KeyWrongLastSequenceError:
            return False
        return True

    async def attach_message(self, pending: Pending, message_ts: str) -> Pending:
        """Remember which message holds the buttons, so any replica can update it."""
        done = replace(pending, message_ts=message_ts)
        await self._kv.put(pending.id, done.to_json())
        return done
