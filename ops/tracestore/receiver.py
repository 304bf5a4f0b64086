"""The OTLP/HTTP receiver (`POST /v1/traces`, protobuf or JSON) and a plain HTML page per trace."""

from __future__ import annotations

import html
from datetime import UTC, datetime

from aiohttp import web
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from chatops import logs
from ops.errors import OpsError
from ops.otlp import OtlpError, spans_from_json_bytes, spans_from_protobuf
from ops.spans import Trace, normalize_trace_id
from ops.tracestore.store import SpanStore

log = logs.get_logger(__name__)

MAX_BODY = 16 << 20
PROTOBUF_TYPES = ("application/x-protobuf", "application/protobuf")


def receiver_app(store: SpanStore) -> web.Application:
    """The aiohttp application serving the receiver and the trace pages."""

    async def traces(request: web.Request) -> web.Response:
        kind = request.content_type.lower()
        body = await request.read()
        if kind in PROTOBUF_TYPES:
            decode = spans_from_protobuf
        elif kind == "application/json":
            decode = spans_from_json_bytes
        else:
            return web.Response(status=415, text="send application/x-protobuf or application/json")

        def decode_and_store() -> int:
            return store.add(decode(body))

        try:
            # Both on the store's thread: a big batch of spans must not hold up the commands on the loop.
            stored = await store.call(decode_and_store)
        except OtlpError as exc:
            log.warning("otlp.rejected", error=str(exc))
            return web.Response(status=400, text=str(exc))
        log.debug("otlp.stored", spans=stored)
        if kind == "application/json":
            return web.json_response({})
        return web.Response(
            body=ExportTraceServiceResponse().SerializeToString(), content_type="application/x-protobuf"
        )

    async def page(request: web.Request) -> web.Response:
        try:
            trace_id = normalize_trace_id(request.match_info["trace_id"])
        except OpsError as exc:
            return web.Response(status=400, text=exc.text)
        found = await store.call(lambda: store.get(trace_id))
        if found is None:
            return web.Response(status=404, text=f"no trace {trace_id} in the local store")
        return web.Response(text=render_page(found), content_type="text/html")

    async def healthz(_: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    app = web.Application(client_max_size=MAX_BODY)
    app.router.add_post("/v1/traces", traces)
    app.router.add_get("/trace/{trace_id}", page)
    app.router.add_get("/healthz", healthz)
    return app


def _when(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + "Z"


def render_page(trace: Trace) -> str:
    """A small, self-contained HTML view: one row per span, indented by depth, events underneath."""
    depth: dict[str, int] = {}
    parents = {s.span_id: s.parent_span_id for s in trace.spans}

    def level(span_id: str) -> int:
        if span_id not in depth:
            parent = parents.get(span_id, "")
            depth[span_id] = 0 if parent not in parents else min(level(parent) + 1, 20)
        return depth[span_id]

    rows = []
    for s in trace.spans:
        pad = level(s.span_id) * 1.2
        status = "ERROR: " + s.status_message if s.is_error else ""
        attrs = ", ".join(f"{k}={v}" for k, v in s.attributes)
        events = "".join(f"<div class='ev'>{_when(e.time_ns)} {html.escape(e.name)}</div>" for e in s.events)
        rows.append(
            f"<tr><td style='padding-left:{pad}em'>{html.escape(s.name)}</td>"
            f"<td>{html.escape(s.service)}</td><td>{s.duration_ns / 1e6:.3f} ms</td>"
            f"<td>{_when(s.start_ns)}</td><td class='err'>{html.escape(status)}</td>"
            f"<td><small>{html.escape(attrs)}</small>{events}</td></tr>"
        )
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>trace {trace.trace_id}</title><style>body{{font-family:sans-serif}}"
        "td{border-bottom:1px solid #ddd;padding:2px 6px;vertical-align:top}.err{color:#b00}"
        ".ev{color:#555;font-size:smaller}</style></head><body>"
        f"<h1>trace {trace.trace_id}</h1><p>{len(trace.spans)} spans, "
        f"{trace.duration_ns / 1e6:.3f} ms, started {_when(trace.start_ns)}</p>"
        "<table><tr><th>operation</th><th>service</th><th>duration</th><th>start</th><th>status</th>"
        "<th>attributes / events</th></tr>" + "".join(rows) + "</table></body></html>"
    )
