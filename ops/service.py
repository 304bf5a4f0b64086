"""The one wrapper around every handler, and the `chatops-ops` micro service with one endpoint per command."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass, field, replace
from typing import Any, Generic, Protocol, TypeVar

from google.protobuf.message import Message
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.micro import add_service
from nats.micro.request import Request
from nats.micro.service import EndpointConfig, Service, ServiceConfig

from chatops import codec, logs, redact
from chatops.access.table import refused_subject
from chatops.bus import settle
from chatops.contract import OPS, Command, Server, check_complete, served_by
from chatops.errors import BAD_REQUEST, BUSY, FORBIDDEN, INTERNAL
from chatops.identity import Roster
from chatops.subjects import H_CONTENT_TYPE, JSON_CONTENT_TYPE
from chatops.v1.audit_pb2 import AuditEvent
from ops.auditlog import AuditLog
from ops.context import CallContext, require_admin
from ops.errors import OpsError
from ops.fit import ReplyTooBig, fit
from ops.handlers import HANDLERS
from ops.metrics import Metrics
from ops.tracing import Tracer

log = logs.get_logger(__name__)

VERSION = "0.1.0"
MAX_IN_FLIGHT = 32  # per command; more at once are answered "busy" at once rather than queued
DEFAULT_MAX_REPLY = 1 << 20  # NATS' default max_payload; main() passes the server's own
HEADER_ROOM = 8 << 10  # the reply's headers travel in the same message as its body
READ_ONLY = "this identity may only send commands that change nothing"


@dataclass(frozen=True)
class Outcome:
    """How one command ended: a reply, or an error code and text."""

    reply: Message | None = None
    data: bytes | None = None  # the reply encoded, trimmed to fit the bus
    code: int = 0
    text: str = ""
    backend: str = ""


class Audited(Protocol):
    """What the wrapper needs of a service's dependencies: the audit log it appends to."""

    @property
    def audit(self) -> AuditLog: ...


D = TypeVar("D", bound=Audited)


@dataclass
class Endpoints(Generic[D]):
    """Runs commands: decode, check, handle, answer, audit, count; never leaves a request unanswered.

    The same wrapper serves ops and the deployer: `server` says which commands of the contract it
    answers, and `handlers` has one handler for each of them.
    """

    deps: D
    tracer: Tracer
    metrics: Metrics
    admins: tuple[str, ...] = ()
    roster: Roster = field(default_factory=Roster)  # who may send; empty: nobody is known (no admins)
    handlers: dict[str, Callable[[D, CallContext, Any], Awaitable[Message]]] = field(
        default_factory=lambda: dict(HANDLERS)  # type: ignore[arg-type]
    )
    max_in_flight: int = MAX_IN_FLIGHT
    max_reply: int = DEFAULT_MAX_REPLY
    server: Server = OPS
    description: str = "ChatOps commands: traces, sampling, version, alerts, silences, audit, graphs"
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _in_flight: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_complete("handler", self.handlers, self.commands)

    @property
    def commands(self) -> tuple[Command[Any, Any], ...]:
        return served_by(self.server)

    async def admit(self, command: Command[Any, Any], request: Request, *, refusal: str = "") -> None:
        """Run one request on its own task, at most max_in_flight per command (more: 503 busy)."""
        running = self._in_flight.get(command.name, 0)
        if running >= self.max_in_flight:
            await self.refuse_busy(command, request, running)
            return
        self._in_flight[command.name] = running + 1
        task = asyncio.create_task(self.serve_safely(command, request, refusal=refusal))
        self._tasks.add(task)
        task.add_done_callback(lambda done: self._finished(command.name, done))

    def endpoint(self, command: Command[Any, Any]) -> EndpointConfig:
        async def handle(request: Request) -> None:
            await self.admit(command, request)

        return EndpointConfig(
            name=command.name.replace(".", "-"),
            subject=command.subject,
            handler=handle,
            metadata={
                "command": command.name,
                "request": command.request.DESCRIPTOR.full_name,
                "reply": command.reply.DESCRIPTOR.full_name,
                "changes": str(command.changes).lower(),
                "summary": command.summary,
            },
        )

    def in_flight(self, name: str) -> int:
        """How many requests of command `name` are running now."""
        return self._in_flight.get(name, 0)

    def _finished(self, name: str, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._in_flight[name] -= 1

    async def refuse_busy(self, command: Command[Any, Any], request: Request, running: int) -> None:
        """Answer 503 at once; not audited (nothing ran), but counted and logged."""
        ctx = CallContext.from_headers(request.headers)
        text = f"{running} {command.name} commands are running already; try again in a moment"
        self.metrics.observe(command.name, BUSY, 0.0)
        log.warning("command.busy", command=command.name, running=running, request_id=ctx.request_id)
        with contextlib.suppress(Exception):
            await request.respond_error(str(BUSY), text)

    async def drain(self, timeout: float = 10.0) -> None:
        """Let requests in flight finish (they answer and audit) before the connection closes."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)

    async def serve_safely(self, command: Command[Any, Any], request: Request, *, refusal: str = "") -> None:
        """`serve`, with a last resort: whatever breaks, the caller still gets a 500."""
        try:
            await self.serve(command, request, refusal=refusal)
        except Exception:
            log.exception("command.wrapper_failed", command=command.name)
            with contextlib.suppress(Exception):
                await request.respond_error(str(INTERNAL), f"internal error in {command.name}")

    def refusal_handler(self, commands: Mapping[str, Command[Any, Any]]) -> Callable[[Msg], Awaitable[None]]:
        """A read-only identity's changing command (on its refusal subject): audited, refused, never run."""

        async def handle(msg: Msg) -> None:
            command = commands.get(msg.subject)
            if command is not None:
                await self.admit(command, Request(msg), refusal=READ_ONLY)

        return handle

    async def serve(self, command: Command[Any, Any], request: Request, *, refusal: str = "") -> None:
        started = time.perf_counter()
        headers = request.headers or {}
        as_json = codec.wants_json(headers)
        ctx = CallContext.from_headers(headers, self.roster)
        if refusal:
            ctx = replace(ctx, refused=refusal)
        with self.tracer.command(f"chatops {command.name}", ctx.traceparent) as span:
            span.set("chatops.command", command.name)
            span.set("chatops.actor", ctx.actor)
            span.set("chatops.request_id", ctx.request_id)
            trace_id = span.trace_id
            arguments, outcome = await self.run(command, request.data, as_json, ctx, trace_id)
            if outcome.code:
                span.fail(outcome.text)
                span.set("chatops.error_code", outcome.code)
            seconds = time.perf_counter() - started
            # Audit before answering: whoever reads the log after the reply finds this command in it.
            await self.audit(command, ctx, arguments, outcome, seconds, trace_id)
            await self.answer(request, outcome, as_json, command, ctx, trace_id)
        self.metrics.observe(command.name, outcome.code, seconds, outcome.backend)
        log.debug(
            "command.done",
            command=command.name,
            code=outcome.code,
            ms=round(seconds * 1000, 3),
            request_id=ctx.request_id,
            trace_id=trace_id,
            actor=ctx.actor,
        )

    async def run(
        self, command: Command[Any, Any], data: bytes, as_json: bool, ctx: CallContext, trace_id: str
    ) -> tuple[str, Outcome]:
        """Decode and handle; returns the arguments as JSON for the audit log, and the outcome."""
        arguments = ""
        try:
            try:
                message = codec.decode(data, command.request, as_json=as_json)
            except codec.CodecError as exc:
                raise OpsError(BAD_REQUEST, str(exc)) from None
            arguments = codec.json_text(message)
            if ctx.refused:
                # A front end said no already; ops audits the commands it serves, so it records that.
                raise OpsError(FORBIDDEN, ctx.refused)
            if command.changes:
                require_admin(command.name, ctx, self.admins)
            reply = await self.handlers[command.name](self.deps, ctx, message)
            try:
                data = fit(reply, self.max_reply - HEADER_ROOM, lambda m: codec.encode(m, as_json=as_json))
            except ReplyTooBig as exc:
                raise OpsError(INTERNAL, f"{command.name}: {exc}") from None
            return arguments, Outcome(reply=reply, data=data)
        except OpsError as exc:
            log.info(
                "command.refused",
                command=command.name,
                code=exc.code,
                error=exc.text,
                request_id=ctx.request_id,
                trace_id=trace_id,
                actor=ctx.actor,
            )
            return arguments, Outcome(code=exc.code, text=redact.text(exc.text), backend=exc.backend)
        except Exception as exc:
            log.exception(
                "command.crashed", command=command.name, request_id=ctx.request_id, trace_id=trace_id
            )
            return arguments, Outcome(
                code=INTERNAL, text=f"internal error in {command.name}: {type(exc).__name__}"
            )

    async def answer(
        self,
        request: Request,
        outcome: Outcome,
        as_json: bool,
        command: Command[Any, Any],
        ctx: CallContext,
        trace_id: str,
    ) -> None:
        try:
            if outcome.data is not None:
                headers = {H_CONTENT_TYPE: JSON_CONTENT_TYPE} if as_json else None
                await request.respond(outcome.data, headers=headers)
            else:
                await request.respond_error(str(outcome.code), outcome.text)
        except Exception:  # the caller may be gone; nothing else can be done for it
            log.exception(
                "command.reply_failed", command=command.name, request_id=ctx.request_id, trace_id=trace_id
            )

    async def audit(
        self,
        command: Command[Any, Any],
        ctx: CallContext,
        arguments: str,
        outcome: Outcome,
        seconds: float,
        trace_id: str,
    ) -> None:
        event = AuditEvent(
            actor=ctx.actor,
            actor_name=ctx.actor_name,
            channel=ctx.channel,
            source=ctx.source,
            request_id=ctx.request_id,
            command=command.name,
            arguments=redact.text(arguments),
            outcome="ok" if outcome.code == 0 else "error",
            error_code=outcome.code,
            error=outcome.text,
            trace_id=trace_id,
            claimed_actor=ctx.claimed,
            sender=ctx.sender,
        )
        event.time.FromNanoseconds(time.time_ns())
        event.duration.FromNanoseconds(int(seconds * 1e9))
        try:
            async with asyncio.timeout(5):
                await self.deps.audit.append(event)
        except Exception as exc:
            self.metrics.audit_failures.inc()
            log.error(
                "audit.append_failed",
                command=command.name,
                request_id=ctx.request_id,
                trace_id=trace_id,
                error=f"{type(exc).__name__}: {exc}",
            )


async def start_service(nc: Client, endpoints: Endpoints[Any]) -> Service:
    """Register the endpoints' micro service (`chatops-ops`, queue group `ops`, by default) with one
    endpoint per command it serves."""
    server = endpoints.server
    service = await add_service(
        nc,
        ServiceConfig(
            name=server.name,
            version=VERSION,
            queue_group=server.queue_group,
            description=endpoints.description,
        ),
    )
    for command in endpoints.commands:
        await service.add_endpoint(endpoints.endpoint(command))
    return service


async def start_refusals(nc: Client, endpoints: Endpoints[Any]) -> list[Subscription]:
    """Listen, in the service's queue group, where the bus delivers the changing commands a read-only
    identity sends (see chatops/access): they are recorded and refused, never run."""
    commands = {refused_subject(c.subject): c for c in endpoints.commands if c.changes}
    handler = endpoints.refusal_handler(commands)
    queue = endpoints.server.queue_group
    return [await nc.subscribe(subject, queue=queue, cb=handler) for subject in commands]


async def answering(nc: Client, endpoints: Endpoints[Any], stack: AsyncExitStack) -> Service:
    """The micro service and its refusals, answering once the server has every subscription; `stack`
    stops them on the way out (refusals first, then the service, then requests under way drain)."""
    service = await start_service(nc, endpoints)
    refusals = await start_refusals(nc, endpoints)
    await settle(nc)
    stack.push_async_callback(endpoints.drain)
    stack.push_async_callback(service.stop)
    for sub in refusals:
        stack.push_async_callback(sub.unsubscribe)
    return service
