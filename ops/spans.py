"""Traces as the Ops service sees them: frozen spans, a search query, and the pure summaries of a trace."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from ops.errors import bad_request

STATUS_ERROR = 2  # OTLP Status.STATUS_CODE_ERROR
MAX_LIMIT = 100
DEFAULT_LIMIT = 20
HOUR_NS = 3600 * 10**9

_HEX = re.compile(r"^[0-9a-fA-F]+$")
_TAG_KEY = re.compile(r"^[A-Za-z0-9_.:/-]+$")


@dataclass(frozen=True)
class SpanEvent:
    """A span event: a log line with its time and attributes."""

    time_ns: int
    name: str
    attributes: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Span:
    """One span, ids in lowercase hex, times in Unix nanoseconds, attribute values as text."""

    trace_id: str
    span_id: str
    parent_span_id: str
    service: str
    name: str
    start_ns: int
    end_ns: int
    status_code: int = 0
    status_message: str = ""
    attributes: tuple[tuple[str, str], ...] = ()
    events: tuple[SpanEvent, ...] = ()

    @property
    def duration_ns(self) -> int:
        return max(0, self.end_ns - self.start_ns)

    @property
    def is_error(self) -> bool:
        return self.status_code == STATUS_ERROR


@dataclass(frozen=True)
class TraceQuery:
    """A validated search: window in Unix ns, attribute filters, optional error-only and duration bounds."""

    service: str
    start_ns: int
    end_ns: int
    limit: int = DEFAULT_LIMIT
    operation: str = ""
    attributes: tuple[tuple[str, str], ...] = ()
    errors_only: bool = False
    min_duration_ns: int = 0
    max_duration_ns: int = 0  # 0: no upper bound

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= MAX_LIMIT:
            raise bad_request(
                f"limit must be 1 to {MAX_LIMIT} (leave it out for {DEFAULT_LIMIT}), not {self.limit}"
            )
        if self.end_ns <= self.start_ns:
            raise bad_request("the time window is empty: start must be before end")
        if self.max_duration_ns and self.max_duration_ns < self.min_duration_ns:
            raise bad_request("max_duration must not be below min_duration")


@dataclass(frozen=True)
class Trace:
    """The spans of one trace, earliest first."""

    trace_id: str
    spans: tuple[Span, ...] = field(default=())

    @classmethod
    def of(cls, trace_id: str, spans: Sequence[Span]) -> Trace:
        return cls(trace_id, tuple(sorted(spans, key=lambda s: (s.start_ns, s.span_id))))

    @property
    def start_ns(self) -> int:
        return min(s.start_ns for s in self.spans)

    @property
    def end_ns(self) -> int:
        return max(s.end_ns for s in self.spans)

    @property
    def duration_ns(self) -> int:
        return max(0, self.end_ns - self.start_ns)

    @property
    def root(self) -> Span:
        """The span without a parent in this trace, or the earliest one when the root is missing."""
        ids = {s.span_id for s in self.spans}
        for span in self.spans:
            if not span.parent_span_id or span.parent_span_id not in ids:
                return span
        return self.spans[0]

    @property
    def has_errors(self) -> bool:
        return any(s.is_error for s in self.spans)


def normalize_trace_id(raw: str) -> str:
    """Hex of 16 or 32 digits -> 32 lowercase digits (16 are left-padded), else 400."""
    text = raw.strip()
    if not _HEX.match(text) or len(text) not in (16, 32):
        shown = text[:40] or "(empty)"
        raise bad_request(f"trace id must be 16 or 32 hex digits (0-9, a-f), not {shown!r}")
    return text.lower().rjust(32, "0")


def parse_tags(tags: Sequence[str]) -> tuple[tuple[tuple[str, str], ...], bool]:
    """`["http.status_code=500", "error"]` -> attribute pairs, and whether only errors are wanted."""
    pairs: list[tuple[str, str]] = []
    errors_only = False
    for tag in tags:
        text = tag.strip()
        if text.lower() == "error":
            errors_only = True
            continue
        key, sep, value = text.partition("=")
        key = key.strip()
        if not sep or not _TAG_KEY.match(key):
            raise bad_request(
                f"tag {text!r} is not understood: use key=value (e.g. rpc.method=AddPets) or the word error"
            )
        pairs.append((key, value.strip()))
    return tuple(pairs), errors_only


def matches(trace: Trace, query: TraceQuery) -> bool:
    """Whether a trace fits a query; backends that filter themselves use it to double-check."""
    spans = trace.spans
    if not spans or not query.start_ns <= trace.start_ns < query.end_ns:
        return False
    if query.service and all(s.service != query.service for s in spans):
        return False
    if query.operation and all(s.name != query.operation for s in spans):
        return False
    if query.errors_only and not trace.has_errors:
        return False
    if query.attributes and not any(set(query.attributes) <= set(s.attributes) for s in spans):
        return False
    if trace.duration_ns < query.min_duration_ns:
        return False
    return not (query.max_duration_ns and trace.duration_ns > query.max_duration_ns)
