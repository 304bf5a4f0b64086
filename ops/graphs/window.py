"""The time window of a graph: range, end and step from a request, checked against the limits (pure)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from chatops.durations import duration_text
from chatops.v1 import graphs_pb2
from ops.errors import bad_request

DEFAULT_RANGE = timedelta(hours=1)
TARGET_POINTS = 240  # about one point per 5 pixels of a 1200-pixel-wide picture
MIN_STEP = timedelta(seconds=1)
MAX_QUERY = 2000
MAX_TITLE = 200
MAX_THRESHOLDS = 5
# Steps a person would pick; the default step is the smallest of these that keeps the points near TARGET.
NICE_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)


@dataclass(frozen=True)
class GraphLimits:
    """What one graph may cost: the range it covers, points per series, series returned and drawn."""

    max_range: timedelta = timedelta(days=7)
    max_points: int = 1000
    max_series: int = 200
    shown_series: int = 10

    def __post_init__(self) -> None:
        if self.max_range <= timedelta(0) or self.max_points < 2 or self.max_series < 1:
            raise ValueError("graph limits must be positive (range > 0, points >= 2, series >= 1)")
        if not 1 <= self.shown_series <= self.max_series:
            raise ValueError("shown_series must be from 1 to max_series")


@dataclass(frozen=True)
class Window:
    """The time span of one graph and its resolution."""

    start: datetime
    end: datetime
    step: timedelta

    @property
    def range(self) -> timedelta:
        return self.end - self.start

    @property
    def points(self) -> int:
        """Points per series Prometheus answers with: both ends included."""
        return points(self.range, self.step)


def points(span: timedelta, step: timedelta) -> int:
    return int(span / step) + 1


def default_step(span: timedelta) -> timedelta:
    """The nice step that gives at most about TARGET_POINTS points over `span`."""
    wanted = span.total_seconds() / TARGET_POINTS
    for nice in NICE_STEPS:
        if nice >= wanted:
            return timedelta(seconds=nice)
    return timedelta(seconds=math.ceil(wanted / 86400) * 86400)


def window(req: graphs_pb2.RenderGraphRequest, now: datetime, limits: GraphLimits) -> Window:
    """The checked window of `req`; every refusal is a 400 that says the limit."""
    span = req.range.ToTimedelta() if req.HasField("range") else DEFAULT_RANGE
    if span <= timedelta(0):
        raise bad_request("the range of a graph must be longer than 0s")
    if span > limits.max_range:
        most = duration_text(limits.max_range)
        raise bad_request(f"the range {duration_text(span)} is too long: a graph covers at most {most}")
    end = req.end.ToDatetime(tzinfo=UTC) if req.HasField("end") else now
    step = req.step.ToTimedelta() if req.HasField("step") else default_step(span)
    if step < MIN_STEP:
        raise bad_request(f"the step must be at least {duration_text(MIN_STEP)}, not {duration_text(step)}")
    if step > span:
        raise bad_request(f"the step {duration_text(step)} is longer than the range {duration_text(span)}")
    count = points(span, step)
    if count > limits.max_points:
        # The smallest whole-second step that fits, so the advice works when followed.
        fits = math.ceil(span.total_seconds() / (limits.max_points - 1))
        at = f"{duration_text(span)} at a step of {duration_text(step)}"
        raise bad_request(
            f"{at} is {count} points per series, over the limit of {limits.max_points}: "
            f"use a step of {duration_text(timedelta(seconds=fits))} or more"
        )
    return Window(end - span, end, step)


def checked_query(req: graphs_pb2.RenderGraphRequest) -> str:
    """The query, stripped; empty or overlong queries are refused."""
    query = req.query.strip()
    if not query:
        raise bad_request("say what to graph: a PromQL expression, e.g. rate(petstore_requests_total[1m])")
    if len(query) > MAX_QUERY:
        raise bad_request(f"the query is {len(query)} characters long; at most {MAX_QUERY}")
    if len(req.title) > MAX_TITLE:
        raise bad_request(f"the title is {len(req.title)} characters long; at most {MAX_TITLE}")
    return query


def checked_thresholds(req: graphs_pb2.RenderGraphRequest) -> tuple[float, ...]:
    """At most MAX_THRESHOLDS finite numbers."""
    if len(req.thresholds) > MAX_THRESHOLDS:
        raise bad_request(f"{len(req.thresholds)} thresholds is too many; at most {MAX_THRESHOLDS}")
    if not all(math.isfinite(t) for t in req.thresholds):
        raise bad_request("a threshold must be a finite number")
    return tuple(req.thresholds)


def checked_series(count: int, limits: GraphLimits) -> None:
    """Refuse a query that returns more series than may be ranked."""
    if count > limits.max_series:
        raise bad_request(
            f"the query returns {count} series, over the limit of {limits.max_series}: narrow it with a "
            "label matcher, or aggregate it, e.g. sum by (job) (…)"
        )
