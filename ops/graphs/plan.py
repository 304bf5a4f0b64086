"""From a range result to what is drawn: the top series, their legend labels, gaps and titles (pure)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC

from chatops.durations import duration_text
from ops.backends.prometheus import RangeSeries
from ops.graphs.window import Window

MAX_LABEL = 80
MAX_TITLE_SHOWN = 130  # of the query or title; with "N more" it still fits the two lines drawn
WIDTH, HEIGHT, DPI = 1200, 640, 120


@dataclass(frozen=True)
class Line:
    """One series as drawn: legend label, unix times and values (NaN where there is a gap)."""

    label: str
    times: tuple[float, ...]
    values: tuple[float, ...]


@dataclass(frozen=True)
class Drawing:
    """Everything the drawing process needs; plain values, so it crosses a process boundary."""

    title: str
    subtitle: str
    lines: tuple[Line, ...]
    thresholds: tuple[float, ...]
    start: float
    end: float
    width: int = WIDTH
    height: int = HEIGHT
    dpi: int = DPI


def cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def last_value(series: RangeSeries) -> float:
    """The newest finite value; -inf when there is none, so such series rank last."""
    for _, value in reversed(series.points):
        if math.isfinite(value):
            return value
    return -math.inf


def top(series: Sequence[RangeSeries], n: int) -> list[RangeSeries]:
    """The `n` series with the highest last value; ties keep Prometheus's order."""
    order = sorted(range(len(series)), key=lambda i: -last_value(series[i]))
    return [series[i] for i in order[:n]]


def selector(labels: Sequence[tuple[str, str]]) -> str:
    """`name{a="1", b="2"}` as PromQL writes a series."""
    name = next((v for k, v in labels if k == "__name__"), "")
    inner = ", ".join(f'{k}="{v}"' for k, v in labels if k != "__name__")
    return f"{name}{{{inner}}}" if inner or not name else name


def legend_labels(series: Sequence[RangeSeries], query: str) -> tuple[list[str], str]:
    """Each series' distinguishing labels, and the labels every series shares (for the subtitle)."""
    if not series:
        return [], ""
    sets = [dict(s.labels) for s in series]
    common = {k: v for k, v in sets[0].items() if all(other.get(k) == v for other in sets[1:])}
    if len(series) == 1:
        only = selector(series[0].labels)
        return [cut(only if only != "{}" else query, MAX_LABEL)], ""
    labels = [
        cut(selector(tuple((k, v) for k, v in sorted(s.items()) if k not in common)), MAX_LABEL) for s in sets
    ]
    return labels, selector(tuple(sorted(common.items())))


def with_gaps(
    points: Sequence[tuple[float, float]], step: float
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Times and values with a NaN wherever samples are missing, so the line breaks instead of bridging."""
    times: list[float] = []
    values: list[float] = []
    for t, v in points:
        if times and t - times[-1] > 1.5 * step:
            times.append(times[-1] + step)
            values.append(math.nan)
        times.append(t)
        # Infinities cannot be drawn; they become a break in the line.
        values.append(v if math.isfinite(v) else math.nan)
    return tuple(times), tuple(values)


def title_of(query: str, title: str, total: int, shown: int) -> str:
    """The request's title or the query, and "N more" when series were left out."""
    text = cut(" ".join((title or query).split()), MAX_TITLE_SHOWN)
    if total > shown:
        text += f"  (top {shown} of {total} by last value, {total - shown} more)"
    return text


def plan(
    query: str,
    title: str,
    series: Sequence[RangeSeries],
    win: Window,
    thresholds: tuple[float, ...],
    shown: int,
) -> Drawing:
    """The drawing for a range result: the top `shown` series by last value."""
    chosen = top(series, shown)
    labels, common = legend_labels(chosen, query)
    step = win.step.total_seconds()
    lines = tuple(Line(label, *with_gaps(s.points, step)) for label, s in zip(labels, chosen, strict=True))
    ending = win.end.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    parts = [f"{duration_text(win.range)} to {ending}", f"step {duration_text(win.step)}"]
    if common and common != "{}":
        parts.insert(0, cut(common, MAX_LABEL))
    return Drawing(
        title=title_of(query, title, len(series), len(chosen)),
        subtitle=" · ".join(parts),
        lines=lines,
        thresholds=thresholds,
        start=win.start.timestamp(),
        end=win.end.timestamp(),
    )
