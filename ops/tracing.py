"""Ops' own spans, made cheaply: one per command and one per backend call, written in batches.

A command's spans are simple (a name, two times, a few text attributes, a status), and the
OpenTelemetry SDK spent more on each (span objects, attribute checks, processor hand-offs, protobuf
encoding and an HTTP post to our own receiver) than ops spends on a whole sampling.get. So ops makes
them itself as `ops.spans.Span` values: it continues the caller's W3C `traceparent` (and its sampling
decision), passes its own span on to backends (`traceparent()`), and a `Recorder` hands finished spans
in batches to a sink: the local trace store, or OTLP/HTTP protobuf to Jaeger or a collector.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import deque
from collections.abc import AsyncIterator, Iterator, Sequence
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from types import TracebackType
from typing import Protocol

import aiohttp

from chatops import logs, redact
from chatops.lifecycle import cancelled
from ops.otlp import spans_to_protobuf
from ops.spans import STATUS_ERROR, Span
from ops.tracestore.store import SpanStore

log = logs.get_logger(__name__)

TRACEPARENT = "traceparent"
MAX_PENDING = 20_000  # spans waiting for the sink at most; past that the oldest go, counted
FLUSH_INTERVAL = 0.5  # seconds between batches
_HEX = frozenset("0123456789abcdef")


@dataclass(frozen=True)
class Parent:
    """A W3C traceparent: the trace, the caller's span, and whether the caller samples it."""

    trace_id: str
    span_id: str
    sampled: bool


def _hex(text: str, size: int) -> bool:
    return len(text) == size and set(text) <= _HEX and text.strip("0") != ""


def parse_traceparent(value: str) -> Parent | None:
    """`00-<32 hex>-<16 hex>-<2 hex>` (or a later version with more fields), else None."""
    parts = value.strip().lower().split("-")
    if len(parts) < 4 or not (len(parts[0]) == 2 and set(parts[0]) <= _HEX) or parts[0] == "ff":
        return None
    version, trace_id, span_id, flags = parts[:4]
    if version == "00" and len(parts) != 4:
        return None
    if not (_hex(trace_id, 32) and _hex(span_id, 16) and len(flags) == 2 and set(flags) <= _HEX):
        return None
    return Parent(trace_id, span_id, bool(int(flags, 16) & 1))


class SpanSink(Protocol):
    """Where finished spans go."""

    async def write(self, spans: Sequence[Span]) -> None: ...


class StoreSink:
    """The local trace store, written on its own thread (SQLite blocks)."""

    def __init__(self, store: SpanStore) -> None:
        self.store = store

    async def write(self, spans: Sequence[Span]) -> None:
        await self.store.call(lambda: self.store.add(spans))


class OtlpSink:
    """OTLP/HTTP protobuf to `<endpoint>/v1/traces` (Jaeger, a collector, another ops)."""

    def __init__(
        self, endpoint: str, session: aiohttp.ClientSession, service: str, timeout: float = 5.0
    ) -> None:
        self.url = f"{endpoint.rstrip('/')}/v1/traces"
        self.session = session
        self.service = service
        self.timeout = aiohttp.ClientTimeout(total=timeout)

    async def write(self, spans: Sequence[Span]) -> None:
        body = spans_to_protobuf(spans, self.service)
        headers = {"Content-Type": "application/x-protobuf"}
        async with self.session.post(self.url, data=body, headers=headers, timeout=self.timeout) as resp:
            if resp.status >= 300:
                raise RuntimeError(f"{redact.url(self.url)} answered HTTP {resp.status}")


@dataclass
class Recorder:
    """Finished spans of one service, held until `flush()` hands them to the sink (none: dropped)."""

    service: str
    sink: SpanSink | None = None
    max_pending: int = MAX_PENDING
    dropped: int = 0  # spans that did not fit while the sink was slow, or that the sink refused
    _pending: deque[Span] = field(init=False)

    def __post_init__(self) -> None:
        self._pending = deque(maxlen=self.max_pending)

    @property
    def recording(self) -> bool:
        return self.sink is not None

    def record(self, span: Span) -> None:
        if len(self._pending) == self.max_pending:
            self.dropped += 1
        self._pending.append(span)

    def pending(self) -> int:
        return len(self._pending)

    async def flush(self) -> None:
        """Hand every pending span to the sink; a failing sink loses that batch (logged, counted)."""
        if self.sink is None or not self._pending:
            self._pending.clear()
            return
        batch = list(self._pending)
        self._pending.clear()
        try:
            await self.sink.write(batch)
        except Exception as exc:
            self.dropped += len(batch)
            log.warning(
                "spans.write_failed", spans=len(batch), error=redact.text(f"{type(exc).__name__}: {exc}")
            )

    async def run(self, interval: float = FLUSH_INTERVAL) -> None:
        """Flush every `interval` seconds until cancelled."""
        while True:
            await asyncio.sleep(interval)
            await self.flush()

    @contextlib.asynccontextmanager
    async def flushing(self, interval: float = FLUSH_INTERVAL) -> AsyncIterator[Recorder]:
        """Flush in the background while inside; the last batch goes on the way out."""
        task = asyncio.create_task(self.run(interval), name=f"{self.service}-spans")
        try:
            yield self
        finally:
            await cancelled(task)
            await self.flush()


@dataclass(frozen=True)
class _Active:
    """The span a task is in: what backends pass on, and where its children are recorded."""

    trace_id: str
    span_id: str
    sampled: bool
    recorder: Recorder


_current: ContextVar[_Active | None] = ContextVar("ops_span", default=None)


def _new_id(bits: int) -> str:
    return f"{random.getrandbits(bits) or 1:0{bits // 4}x}"


class SpanScope:
    """One span while it runs: the current span of its task inside `with`, recorded when it ends."""

    def __init__(self, recorder: Recorder, name: str, trace_id: str, parent_id: str, sampled: bool) -> None:
        self.recorder = recorder
        self.name = name
        self.trace_id = trace_id
        self.parent_id = parent_id
        self.sampled = sampled  # the caller's decision, passed on to backends either way
        self.span_id = _new_id(64)
        self.attributes: dict[str, str] = {}
        self.error = ""
        self.failed = False
        self.start_ns = time.time_ns()
        self._token: Token[_Active | None] | None = None

    def set(self, key: str, value: object) -> None:
        self.attributes[key] = str(value)

    def fail(self, message: str) -> None:
        self.failed, self.error = True, message

    def __enter__(self) -> SpanScope:
        self._token = _current.set(_Active(self.trace_id, self.span_id, self.sampled, self.recorder))
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._token is not None:
            _current.reset(self._token)
        if exc is not None and not self.failed:
            self.fail(redact.text(f"{type(exc).__name__}: {exc}"))
        if self.sampled and self.recorder.recording:
            self.recorder.record(
                Span(
                    trace_id=self.trace_id,
                    span_id=self.span_id,
                    parent_span_id=self.parent_id,
                    service=self.recorder.service,
                    name=self.name,
                    start_ns=self.start_ns,
                    end_ns=time.time_ns(),
                    status_code=STATUS_ERROR if self.failed else 0,
                    status_message=self.error,
                    attributes=tuple(self.attributes.items()),
                )
            )


class Tracer:
    """Starts the span of a command, continuing the caller's trace when it sent one."""

    def __init__(self, recorder: Recorder | None = None) -> None:
        self.recorder = recorder or Recorder("chatops")

    def command(self, name: str, traceparent: str) -> SpanScope:
        """The span of one command: the caller's trace and sampling decision, or a new sampled trace."""
        parent = parse_traceparent(traceparent) if traceparent else None
        if parent is None:
            return SpanScope(self.recorder, name, _new_id(128), "", True)
        return SpanScope(self.recorder, name, parent.trace_id, parent.span_id, parent.sampled)


@contextlib.contextmanager
def client_span(name: str) -> Iterator[SpanScope | None]:
    """A child of the current span around a backend call (nothing outside a command)."""
    active = _current.get()
    if active is None:
        yield None
        return
    with SpanScope(active.recorder, name, active.trace_id, active.span_id, active.sampled) as scope:
        yield scope


def traceparent() -> str:
    """The W3C traceparent of the current span, for a backend call ("" outside a command)."""
    active = _current.get()
    if active is None:
        return ""
    return f"00-{active.trace_id}-{active.span_id}-{'01' if active.sampled else '00'}"
