"""Traces from Jaeger's api_v3 HTTP API (`/api/v3/traces`), whose answers are OTLP JSON under `result`."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime

from chatops.errors import BACKEND_FAILED
from ops.backends.http import HttpAnswer, HttpBackend
from ops.errors import OpsError
from ops.otlp import OtlpError, spans_from_json
from ops.spans import Span, Trace, TraceQuery, matches

NAME = "Jaeger"


def rfc3339(ns: int) -> str:
    """Unix ns -> RFC 3339 with nanoseconds, as api_v3 expects."""
    seconds, frac = divmod(ns, 10**9)
    stamp = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{frac:09d}Z"


def duration_text(ns: int) -> str:
    """Unix ns -> the protobuf JSON duration form api_v3 documents, e.g. `1.5s`."""
    seconds, frac = divmod(ns, 10**9)
    return f"{seconds}.{frac:09d}s" if frac else f"{seconds}s"


def search_params(query: TraceQuery) -> dict[str, str]:
    """The query string of GET /api/v3/traces for a search.

    Names are the ones Jaeger's HTTP gateway parses (snake case, `query.` prefix); the OpenAPI spec
    spells the same fields in camel case. `num_traces` is what servers before `search_depth` read.
    """
    params = {
        "query.service_name": query.service,
        "query.start_time_min": rfc3339(query.start_ns),
        "query.start_time_max": rfc3339(query.end_ns),
        "query.search_depth": str(query.limit),
        "query.num_traces": str(query.limit),
    }
    if query.operation:
        params["query.operation_name"] = query.operation
    attributes = dict(query.attributes)
    if query.errors_only:
        attributes["error"] = "true"
    if attributes:
        params["query.attributes"] = json.dumps(attributes, separators=(",", ":"), sort_keys=True)
    if query.min_duration_ns:
        params["query.duration_min"] = duration_text(query.min_duration_ns)
    if query.max_duration_ns:
        params["query.duration_max"] = duration_text(query.max_duration_ns)
    if not query.service:
        del params["query.service_name"]
    return params


def group(spans: list[Span]) -> list[Trace]:
    by_id: dict[str, list[Span]] = defaultdict(list)
    for span in spans:
        by_id[span.trace_id].append(span)
    return [Trace.of(tid, ss) for tid, ss in by_id.items()]


class JaegerTraces:
    """TraceBackend over Jaeger api_v3."""

    def __init__(self, http: HttpBackend, ui_url: str) -> None:
        self.http = http
        self.ui_url = ui_url.rstrip("/")

    def url(self, trace_id: str) -> str:
        return f"{self.ui_url}/trace/{trace_id}"

    def _spans(self, answer: HttpAnswer, what: str) -> list[Span]:
        body = answer.body
        if not isinstance(body, dict) or not isinstance(body.get("result"), dict):
            raise self.http.failed(answer, what)
        try:
            return spans_from_json(body["result"])
        except OtlpError as exc:
            raise OpsError(
                BACKEND_FAILED, f"{NAME} sent traces that do not parse: {exc}", backend=NAME
            ) from None

    async def find(self, query: TraceQuery) -> list[Trace]:
        answer = await self.http.request("GET", "/api/v3/traces", params=search_params(query))
        if _is_not_found(answer):
            return []  # api_v3 answers 404 when nothing matches
        if answer.status != 200:
            raise self.http.failed(answer, "search traces")
        # Jaeger checks attributes on any span; keep only what fits our own reading of the query too.
        traces = [t for t in group(self._spans(answer, "search traces")) if matches(t, _loose(query))]
        traces.sort(key=lambda t: t.start_ns, reverse=True)
        return traces[: query.limit]

    async def check(self) -> None:
        # The cheapest call api_v3 has: the list of services it knows.
        answer = await self.http.request("GET", "/api/v3/services")
        if answer.status != 200:
            raise self.http.failed(answer, "list services")

    async def get(self, trace_id: str) -> Trace | None:
        answer = await self.http.request("GET", f"/api/v3/traces/{trace_id}")
        if _is_not_found(answer):
            return None
        if answer.status != 200:
            raise self.http.failed(answer, f"get trace {trace_id}")
        spans = [s for s in self._spans(answer, f"get trace {trace_id}") if s.trace_id == trace_id]
        return Trace.of(trace_id, spans) if spans else None


def _is_not_found(answer: HttpAnswer) -> bool:
    if answer.status == 404:
        return True
    err = answer.body.get("error") if isinstance(answer.body, dict) else None
    return isinstance(err, dict) and err.get("httpCode") == 404


def _loose(query: TraceQuery) -> TraceQuery:
    """Jaeger applied the window and attribute filters by its own rules (resource attributes too)."""
    return TraceQuery(
        service="",
        start_ns=0,
        end_ns=2**63 - 1,
        limit=query.limit,
        operation=query.operation,
        errors_only=query.errors_only,
    )
