"""graph.render: a Prometheus range query drawn as a PNG, within the limits on range, points and series."""

from __future__ import annotations

from datetime import UTC, datetime

from chatops.durations import duration_text
from chatops.errors import NOT_FOUND
from chatops.v1 import graphs_pb2
from ops.context import CallContext
from ops.deps import Deps
from ops.errors import OpsError
from ops.graphs.plan import plan
from ops.graphs.window import checked_query, checked_series, checked_thresholds, window


async def render_graph(
    deps: Deps, ctx: CallContext, req: graphs_pb2.RenderGraphRequest
) -> graphs_pb2.RenderGraphReply:
    """Check the request, ask Prometheus, draw the top series in a worker process."""
    limits = deps.graph_limits
    query = checked_query(req)
    thresholds = checked_thresholds(req)
    win = window(req, datetime.now(UTC), limits)
    series = await deps.prometheus.query_range(
        query, win.start.timestamp(), win.end.timestamp(), win.step.total_seconds()
    )
    checked_series(len(series), limits)
    if not series:
        raise OpsError(NOT_FOUND, f"no data: {query} returned nothing over {duration_text(win.range)}")
    drawing = plan(query, req.title.strip(), series, win, thresholds, limits.shown_series)
    png = await deps.graphs.render(drawing)
    reply = graphs_pb2.RenderGraphReply(
        png=png,
        width=drawing.width,
        height=drawing.height,
        query=query,
        title=drawing.title,
        series_total=len(series),
        series_shown=len(drawing.lines),
    )
    reply.start.FromDatetime(win.start)
    reply.end.FromDatetime(win.end)
    reply.step.FromTimedelta(win.step)
    return reply
