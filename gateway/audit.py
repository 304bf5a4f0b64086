"""Audit events the gateway writes itself: refusals that never reach ops, from a command or a button."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from google.protobuf.message import Message
from nats.js import JetStreamContext

from chatops import codec, logs
from chatops.bus import Caller
from chatops.contract import Command
from chatops.errors import FORBIDDEN
from chatops.subjects import H_MSG_ID, audit_subject
from chatops.v1 import audit_pb2
from gateway.commands import Parsed, Request
from gateway.flow import trace_id_of

log = logs.get_logger(__name__)
# Where audit events go: `publish` on the gateway's JetStream context; a list in tests.
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


REFUSED_CHAT = "chat.refused"  # the audit "command" of a message refused before it was parsed into one


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


async def publish(js: JetStreamContext, event: audit_pb2.AuditEvent) -> None:
    """Append the event to CHATOPS_AUDIT; the request id de-duplicates a retried publish."""
    await js.publish(
        audit_subject(event.command),
        codec.encode(event),
        headers={H_MSG_ID: f"gateway-refusal-{event.request_id}"},
    )
    log.info(
        "audit.published",
        command=event.command,
        outcome=event.outcome,
        actor=event.actor,
        request_id=event.request_id,
        trace_id=event.trace_id,
    )
