"""Wrap every RPC in a span and its metrics, and turn failures into gRPC statuses."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any, NoReturn, TypeVar

import grpc
from google.protobuf.message import Message
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer, format_trace_id
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from chatops import logs
from petstore.errors import PetstoreError
from petstore.metrics import PetstoreMetrics
from petstore.sampler import FORCE_TRACE
from petstore.telemetry import note

SERVICE = "petstore.v1.PetStore"
TRACE_METADATA_KEY = "trace"

Req = TypeVar("Req", bound=Message)
Resp = TypeVar("Resp", bound=Message)

log = logs.get_logger(__name__)
_propagator = TraceContextTextMapPropagator()


def request_context(metadata: Any) -> otel_context.Context:
    """The trace context a call arrives with: W3C `traceparent`, plus the caller's `trace` request."""
    carrier: dict[str, str] = {}
    for item in metadata or ():
        key, value = item[0], item[1]
        if isinstance(value, str):
            carrier[key.lower()] = value
    ctx = _propagator.extract(carrier)
    if TRACE_METADATA_KEY in carrier:
        ctx = otel_context.set_value(FORCE_TRACE, True, ctx)
    return ctx


class Instrument:
    """Runs handlers inside a server span, counting them; PetstoreError becomes the call's status."""

    def __init__(self, tracer: Tracer, metrics: PetstoreMetrics) -> None:
        self._tracer = tracer
        self._metrics = metrics

    @contextmanager
    def _span(
        self, method: str, request: Message, context: grpc.aio.ServicerContext[Any, Any]
    ) -> Iterator[Span]:
        attributes: dict[str, str | int] = {
            "rpc.system": "grpc",
            "rpc.service": SERVICE,
            "rpc.method": method,
            "rpc.request.size": request.ByteSize(),
        }
        # Not made current here: a stream's body spans yields, and a context attached before a
        # yield may be detached elsewhere (a cancelled stream is closed by the garbage collector).
        span = self._tracer.start_span(
            f"/{SERVICE}/{method}",  # the gRPC method path; ops and the chat help name operations so
            context=request_context(context.invocation_metadata()),
            kind=SpanKind.SERVER,
            attributes=attributes,
            record_exception=False,
            set_status_on_exception=False,
        )
        code = grpc.StatusCode.OK
        start = time.perf_counter()
        self._metrics.in_flight.labels(method=method).inc()
        try:
            yield span
        except PetstoreError as exc:
            code = exc.code
            self._failed(span, method, exc)
            raise
        except BaseException as exc:
            code = grpc.StatusCode.CANCELLED if _is_cancel(exc) else grpc.StatusCode.INTERNAL
            self._failed(span, method, exc)
            if code is grpc.StatusCode.INTERNAL:
                log.exception("petstore.rpc.crashed", method=method, trace_id=_trace_id(span))
                raise PetstoreError("internal error; see the trace for details") from exc
            raise
        finally:
            span.set_attribute("rpc.grpc.status_code", code.value[0])
            span.end()
            self._metrics.in_flight.labels(method=method).dec()
            self._metrics.finished(method, code.name, time.perf_counter() - start)

    def _failed(self, span: Span, method: str, exc: BaseException) -> None:
        message = str(exc) or type(exc).__name__
        span.record_exception(exc)
        span.set_status(Status(StatusCode.ERROR, message))
        note(span, "request failed", method=method, error=message)
        log.debug("petstore.rpc.failed", method=method, error=message, trace_id=_trace_id(span))

    async def unary(
        self,
        method: str,
        request: Req,
        context: grpc.aio.ServicerContext[Any, Any],
        handler: Callable[[Req, Span], Awaitable[Resp]],
    ) -> Resp:
        """Answer one unary call with `handler`, inside the span and metrics."""
        try:
            with self._span(method, request, context) as span:
                with _current(span):
                    reply = await handler(request, span)
                span.set_attribute("rpc.response.size", reply.ByteSize())
                return reply
        except PetstoreError as exc:
            await _abort(context, exc)

    async def stream(
        self,
        method: str,
        request: Req,
        context: grpc.aio.ServicerContext[Any, Any],
        handler: Callable[[Req, Span], Awaitable[Sequence[Resp]]],
    ) -> AsyncIterator[Resp]:
        """Stream the replies `handler` returns; the span lasts until the last one is sent."""
        try:
            with self._span(method, request, context) as span:
                with _current(span):
                    replies = await handler(request, span)
                sent = 0
                for reply in replies:
                    yield reply
                    sent += 1
                span.set_attribute("petstore.stream.sent", sent)
        except PetstoreError as exc:
            await _abort(context, exc)


async def _abort(context: grpc.aio.ServicerContext[Any, Any], exc: PetstoreError) -> NoReturn:
    await context.abort(exc.code, exc.message)
    raise AssertionError("grpc abort returned")  # abort always raises; this keeps the types honest


def _current(span: Span) -> AbstractContextManager[Span]:
    """Make `span` current for code that does not yield (child spans then nest under it)."""
    return trace.use_span(span, end_on_exit=False, record_exception=False, set_status_on_exception=False)


def _is_cancel(exc: BaseException) -> bool:
    return isinstance(exc, asyncio.CancelledError | GeneratorExit)


def _trace_id(span: Span) -> str | None:
    ctx = span.get_span_context()
    return format_trace_id(ctx.trace_id) if ctx.is_valid else None
