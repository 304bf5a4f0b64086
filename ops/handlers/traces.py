"""traces.list, traces.show and traces.logs over whichever TraceBackend is configured."""

from __future__ import annotations

import time

from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp

from chatops.errors import NOT_FOUND
from chatops.v1 import traces_pb2
from ops.context import CallContext
from ops.deps import Deps
from ops.errors import OpsError, bad_request
from ops.spans import DEFAULT_LIMIT, HOUR_NS, Trace, TraceQuery, normalize_trace_id, parse_tags


def _ts(ns: int) -> Timestamp:
    t = Timestamp()
    t.FromNanoseconds(ns)
    return t


def _dur(ns: int) -> Duration:
    d = Duration()
    d.FromNanoseconds(ns)
    return d


def build_query(req: traces_pb2.ListTracesRequest, default_service: str, now_ns: int) -> TraceQuery:
    """The request, checked and with defaults filled in (pure)."""
    end = req.end.ToNanoseconds() if req.HasField("end") else now_ns
    start = req.start.ToNanoseconds() if req.HasField("start") else end - HOUR_NS
    attributes, errors_only = parse_tags(req.tags)
    min_d = req.min_duration.ToNanoseconds() if req.HasField("min_duration") else 0
    max_d = req.max_duration.ToNanoseconds() if req.HasField("max_duration") else 0
    if min_d < 0 or max_d < 0:
        raise bad_request("durations must not be negative")
    return TraceQuery(
        service=req.service.strip() or default_service,
        start_ns=start,
        end_ns=end,
        limit=req.limit if req.HasField("limit") else DEFAULT_LIMIT,
        operation=req.operation.strip(),
        attributes=attributes,
        errors_only=errors_only,
        min_duration_ns=min_d,
        max_duration_ns=max_d,
    )


def summary(trace: Trace, url: str) -> traces_pb2.TraceSummary:
    root = trace.root
    return traces_pb2.TraceSummary(
        trace_id=trace.trace_id,
        start=_ts(trace.start_ns),
        root_operation=root.name,
        duration=_dur(trace.duration_ns),
        span_count=len(trace.spans),
        has_errors=trace.has_errors,
        url=url,
        service=root.service,
    )


async def list_traces(
    deps: Deps, ctx: CallContext, req: traces_pb2.ListTracesRequest
) -> traces_pb2.ListTracesReply:
    """Traces in the window, newest first."""
    query = build_query(req, deps.default_service, time.time_ns())
    found = await deps.traces.find(query)
    return traces_pb2.ListTracesReply(traces=[summary(t, deps.traces.url(t.trace_id)) for t in found])


async def _trace(deps: Deps, raw_id: str) -> Trace:
    trace_id = normalize_trace_id(raw_id)
    found = await deps.traces.get(trace_id)
    if found is None or not found.spans:
        raise OpsError(NOT_FOUND, f"no trace {trace_id} (it may be unsampled, not yet flushed, or expired)")
    return found


def show(trace: Trace, url: str) -> traces_pb2.ShowTraceReply:
    """The at-a-glance facts of a trace (pure)."""
    operations: list[str] = []
    for s in trace.spans:
        if s.name not in operations:
            operations.append(s.name)
    longest = max(trace.spans, key=lambda s: s.duration_ns)
    return traces_pb2.ShowTraceReply(
        trace_id=trace.trace_id,
        operations=operations,
        errors=[s.status_message or f"{s.name} failed" for s in trace.spans if s.is_error],
        attribute_keys=sorted({k for s in trace.spans for k, _ in s.attributes}),
        longest_span=_dur(longest.duration_ns),
        longest_operation=longest.name,
        url=url,
        start=_ts(trace.start_ns),
        duration=_dur(trace.duration_ns),
        span_count=len(trace.spans),
    )


async def show_trace(
    deps: Deps, ctx: CallContext, req: traces_pb2.ShowTraceRequest
) -> traces_pb2.ShowTraceReply:
    """One trace, summarised."""
    trace = await _trace(deps, req.trace_id)
    return show(trace, deps.traces.url(trace.trace_id))


def logs(trace: Trace) -> traces_pb2.ShowLogsReply:
    """Every span event in time order (pure)."""
    entries = sorted(
        ((e.time_ns, s.span_id, s.name, e) for s in trace.spans for e in s.events),
        key=lambda x: (x[0], x[1]),
    )
    return traces_pb2.ShowLogsReply(
        trace_id=trace.trace_id,
        logs=[
            traces_pb2.LogEntry(
                time=_ts(t), span_id=sid, operation=op, message=e.name, attributes=dict(e.attributes)
            )
            for t, sid, op, e in entries
        ],
    )


async def show_logs(
    deps: Deps, ctx: CallContext, req: traces_pb2.ShowLogsRequest
) -> traces_pb2.ShowLogsReply:
    """The span events of one trace."""
    return logs(await _trace(deps, req.trace_id))
