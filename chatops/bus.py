"""Connecting to NATS, and sending commands to ops the way every front end does."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import nats
from google.protobuf.message import Message
from nats.aio.client import Client
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError

from chatops import codec, logs
from chatops.contract import Command, Rep
from chatops.errors import INTERNAL
from chatops.subjects import (
    H_ACTOR,
    H_ACTOR_NAME,
    H_CHANNEL,
    H_REQUEST_ID,
    H_SERVICE_ERROR,
    H_SERVICE_ERROR_CODE,
    H_SOURCE,
    H_TRACEPARENT,
)

log = logs.get_logger(__name__)


async def connect(url: str, name: str, *, connect_timeout: float = 2.0) -> Client:
    """Connect, then reconnect forever with back-off; errors are logged, never printed as tracebacks."""

    async def on_error(exc: Exception) -> None:
        log.warning("nats.error", client=name, error=f"{type(exc).__name__}: {exc}")

    async def on_disconnected() -> None:
        log.warning("nats.disconnected", client=name)

    async def on_reconnected() -> None:
        log.info("nats.reconnected", client=name)

    return await nats.connect(
        servers=[u.strip() for u in url.split(",")],
        name=name,
        connect_timeout=connect_timeout,
        allow_reconnect=True,
        max_reconnect_attempts=-1,
        reconnect_time_wait=1,
        error_cb=on_error,
        disconnected_cb=on_disconnected,
        reconnected_cb=on_reconnected,
    )


@dataclass(frozen=True)
class Caller:
    """Who asks, and from where: becomes the Chatops-* headers of a command."""

    actor: str
    actor_name: str = ""
    channel: str = ""
    source: str = "console"
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    traceparent: str = ""

    def headers(self) -> dict[str, str]:
        headers = {
            H_ACTOR: self.actor,
            H_ACTOR_NAME: self.actor_name,
            H_CHANNEL: self.channel,
            H_SOURCE: self.source,
            H_REQUEST_ID: self.request_id,
        }
        if self.traceparent:
            headers[H_TRACEPARENT] = self.traceparent
        return {k: v for k, v in headers.items() if v}


class CommandError(Exception):
    """A command that did not produce a reply; `code` follows DESIGN.md (0 for transport faults)."""

    code: int = 0

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class OpsNotRunning(CommandError):
    """No ops process is subscribed: NATS answered "no responders"."""


class OpsTimeout(CommandError):
    """Ops took longer than the caller waits."""


class ServiceFailed(CommandError):
    """Ops answered with the micro error headers."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


async def call(
    nc: Client,
    command: Command[Any, Rep],
    request: Message,
    caller: Caller,
    *,
    timeout: float = 10.0,
) -> Rep:
    """Send one command to ops and return its reply, or raise a CommandError subclass."""
    try:
        msg = await nc.request(
            command.subject, codec.encode(request), timeout=timeout, headers=caller.headers()
        )
    except NoRespondersError:
        raise OpsNotRunning(
            f"{command.server.title} is not answering (nothing is serving {command.name})"
        ) from None
    except NatsTimeoutError:
        raise OpsTimeout(
            f"{command.server.title} did not answer {command.name} within {timeout:g}s"
        ) from None
    raise_for_error(msg.headers)
    return codec.decode(msg.data, command.reply)


def raise_for_error(headers: Mapping[str, str] | None) -> None:
    """Turn the micro error headers of a reply into ServiceFailed."""
    if not headers or H_SERVICE_ERROR_CODE not in headers:
        return
    raw = headers.get(H_SERVICE_ERROR_CODE, "")
    code = int(raw) if raw.isdigit() else INTERNAL
    raise ServiceFailed(code, headers.get(H_SERVICE_ERROR, "") or f"error {code}")
