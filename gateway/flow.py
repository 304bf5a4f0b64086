"""The chat-neutral path of one message: parse, decide (answer, refuse, confirm, run), render."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any, Protocol

from google.protobuf.message import Message
from nats.aio.client import Client

from chatops import logs
from chatops.admins import is_admin
from chatops.bus import Caller, CommandError, call
from chatops.codec import CodecError
from chatops.contract import Command
from gateway.commands import HelpRequest, Parsed, Request, UsageError, render_reply
from gateway.render.doc import Doc
from gateway.render.notes import failure_doc, help_doc, refusal_doc, usage_doc

log = logs.get_logger(__name__)


class Asker(Protocol):
    """Sends one command to ops: `chatops.bus.call` bound to a connection and a timeout."""

    async def __call__(self, command: Command[Any, Any], request: Message, caller: Caller) -> Message: ...


@dataclass(frozen=True)
class Answer:
    """Something to say right away; `outcome` is ok, help, usage, refused or error."""

    doc: Doc
    outcome: str


@dataclass(frozen=True)
class Run:
    """A command to send to ops now."""

    request: Request


@dataclass(frozen=True)
class Confirm:
    """A change an admin asked for: ask Confirm / Cancel before running it."""

    request: Request


@dataclass(frozen=True)
class Refuse:
    """A change asked for by someone who is not an admin."""

    request: Request
    doc: Doc


Step = Answer | Run | Confirm | Refuse


def decide(parsed: Parsed, actor: str, admins: tuple[str, ...]) -> Step:
    """What to do with a parsed message (pure)."""
    if isinstance(parsed, HelpRequest):
        return Answer(help_doc(parsed), "help")
    if isinstance(parsed, UsageError):
        return Answer(usage_doc(parsed), "usage")
    if not parsed.command.changes:
        return Run(parsed)
    if not is_admin(actor, admins):
        return Refuse(parsed, refusal_doc(parsed, admins))
    return Confirm(parsed)


async def run(req: Request, caller: Caller, ask: Asker) -> Answer:
    """Send the command and render what came back; every failure becomes a short Doc."""
    started = time.monotonic()
    ids = {"request_id": caller.request_id, "trace_id": trace_id_of(caller.traceparent)}
    try:
        reply = await ask(req.command, req.message, caller)
        answer = Answer(render_reply(req.command.name, reply), "ok")
    except CommandError as exc:
        answer = Answer(failure_doc(req, exc), "error")
        log.warning("command.failed", command=req.command.name, error=exc.message, code=exc.code, **ids)
    except CodecError as exc:
        answer = Answer(failure_doc(req, CommandError(f"ops sent a reply I cannot read ({exc})")), "error")
        log.warning("command.bad_reply", command=req.command.name, error=str(exc), **ids)
    seconds = round(time.monotonic() - started, 3)
    log.info(
        "command.done",
        command=req.command.name,
        outcome=answer.outcome,
        actor=caller.actor,
        seconds=seconds,
        **ids,
    )
    return answer


def trace_id_of(traceparent: str) -> str:
    """The trace id of a W3C traceparent, or "" when it is not one."""
    parts = traceparent.split("-")
    return parts[1] if len(parts) == 4 and len(parts[1]) == 32 else ""


def bus_asker(nc: Client, timeout: float) -> Asker:
    """The real Asker: `chatops.bus.call` on this connection with this timeout."""

    async def ask(command: Command[Any, Any], request: Message, caller: Caller) -> Message:
        return await call(nc, command, request, caller, timeout=timeout)

    return ask


def new_traceparent() -> str:
    """A fresh W3C traceparent, so ops's spans for this command share one trace id."""
    return f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"
