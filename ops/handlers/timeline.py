"""timeline.show: alerts, acks, silences, commands and deploys of a window, in order (ops/timeline.py)."""

from __future__ import annotations

import time

from chatops.v1 import cards_pb2 as pb
from ops.context import CallContext
from ops.deps import Deps
from ops.errors import bad_request
from ops.timeline import Scope, timeline

DEFAULT_WINDOW = 2 * 3600
MAX_WINDOW = 7 * 24 * 3600
DEFAULT_LIMIT = 200
MAX_LIMIT = 500


def window(req: pb.TimelineRequest, now_ns: int) -> tuple[int, int]:
    """(since in unix ns, limit), checked (pure)."""
    since = req.since.ToNanoseconds() if req.HasField("since") else now_ns - DEFAULT_WINDOW * 10**9
    if since < now_ns - MAX_WINDOW * 10**9:
        raise bad_request("a timeline goes back at most 7 days")
    if since > now_ns:
        raise bad_request("`since` is in the future")
    limit = req.limit if req.HasField("limit") else DEFAULT_LIMIT
    if not 1 <= limit <= MAX_LIMIT:
        raise bad_request(f"limit must be 1 to {MAX_LIMIT} (leave it out for {DEFAULT_LIMIT}), not {limit}")
    return since, limit


async def show_timeline(deps: Deps, ctx: CallContext, req: pb.TimelineRequest) -> pb.TimelineReply:
    since, limit = window(req, time.time_ns())
    return await timeline(deps.cards.js, since, Scope(req.alert.strip()), limit)
