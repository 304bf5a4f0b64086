"""Refusals the gateway makes itself (a command, a button, a message from elsewhere), recorded in the
audit log by ops; a message that is not a command, by the gateway on its one audit subject."""

from __future__ import annotations

import json
import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from google.protobuf.message import Message
from nats.aio.client import Client

from chatops import codec, logs
from chatops.bus import Caller, refuse
from chatops.contract import Command, command
from chatops.errors import FORBIDDEN
from chatops.subjects import H_MSG_ID, REFUSED_CHAT, audit_subject
from chatops.v1 import audit_pb2
from gateway.commands import Parsed, Request
from gateway.flow import trace_id_of

log = logs.get_logger(__name__)
# Where refusals go: `record` on the gateway's connection; a list in tests.
AuditSink = Callable[[audit_pb2.AuditEvent], Awaitable[None]]


def refusal_event(
    command: Command[Any, Any], request: Message, caller: Caller, reason: str, now: datetime | None = None
) -> audit_pb2.AuditEvent:
    """The AuditEvent of a change refused to a non-admin (outcome error, code 403), as ops writes them."""
    event = audit_pb2.AuditEvent(
        actor=caller.actor,
        actor_name=caller.actor_name,
        channel=caller.channel,
        source=caller.source,
        request_id=caller.request_id,
        command=command.name,
        arguments=codec.json_text(request),
        outcome="error",
        error_code=FORBIDDEN,
        error=reason,
        trace_id=trace_id_of(caller.traceparent),
    )
    event.time.FromDatetime(now or datetime.now(UTC))
    event.duration.FromNanoseconds(0)
    return event


def origin_refusal_event(
    parsed: Parsed, text: str, caller: Caller, reason: str, now: datetime | None = None
) -> audit_pb2.AuditEvent:
    """The AuditEvent of a message refused for where it came from (another workspace, a channel)."""
    if isinstance(parsed, Request):
        return refusal_event(parsed.command, parsed.message, caller, reason, now)
    event = audit_pb2.AuditEvent(
        actor=caller.actor,
        channel=caller.channel,
        source=caller.source,
        request_id=caller.request_id,
        command=REFUSED_CHAT,
        arguments=json.dumps({"text": text[:200]}),
        outcome="error",
        error_code=FORBIDDEN,
        error=reason,
    )
    event.time.FromDatetime(now or datetime.now(UTC))
    event.duration.FromNanoseconds(0)
    return event


async def record(nc: Client, event: audit_pb2.AuditEvent, *, timeout: float = 10.0) -> None:
    """Have ops write this refusal to the audit log (under the sender the bus names); a chat.refused event
    the gateway appends itself."""
    if event.command == REFUSED_CHAT:
        await _append_chat_refusal(nc, event, timeout)
        return
    cmd = command(event.command)
    request = codec.decode(event.arguments.encode(), cmd.request, as_json=True) if event.arguments else None
    caller = Caller(
        actor=event.actor,
        actor_name=event.actor_name,
        channel=event.channel,
        source=event.source,
        request_id=event.request_id or Caller(actor="").request_id,
        traceparent=f"00-{event.trace_id}-{secrets.token_hex(8)}-01" if len(event.trace_id) == 32 else "",
    )
    await refuse(nc, cmd, request or cmd.request(), caller, event.error, timeout=timeout)
    log.info(
        "audit.refusal_recorded",
        command=event.command,
        actor=event.actor,
        request_id=caller.request_id,
        trace_id=event.trace_id,
    )


async def _append_chat_refusal(nc: Client, event: audit_pb2.AuditEvent, timeout: float) -> None:
    """A message that is not a command has no command for ops to refuse: the gateway appends it itself,
    on the one audit subject its identity may write (so `sender` is what the server enforces)."""
    event.sender = "gateway"
    await nc.jetstream(timeout=timeout).publish(
        audit_subject(REFUSED_CHAT),
        codec.encode(event),
        headers={H_MSG_ID: f"gateway-refusal-{event.request_id}"},
    )
    log.info("audit.published", command=event.command, actor=event.actor, request_id=event.request_id)
