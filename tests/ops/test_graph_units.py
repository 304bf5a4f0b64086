"""graph.render's pure parts: the window and its limits, choosing and labelling series, and the PNG."""

from __future__ import annotations

import io
import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from chatops.durations import duration_text
from chatops.v1 import graphs_pb2
from ops.backends.prometheus import RangeSeries
from ops.errors import OpsError
from ops.graphs.draw import PALETTE, THRESHOLD_COLOUR, draw
from ops.graphs.plan import HEIGHT, WIDTH, legend_labels, plan, top, with_gaps
from ops.graphs.window import (
    GraphLimits,
    Window,
    checked_query,
    checked_series,
    checked_thresholds,
    default_step,
    window,
)

NOW = datetime(2026, 1, 2, 15, 0, tzinfo=UTC)
LIMITS = GraphLimits()


def request(**fields: object) -> graphs_pb2.RenderGraphRequest:
    req = graphs_pb2.RenderGraphRequest(query="up")
    for name in ("range", "step"):
        if name in fields:
            getattr(req, name).FromTimedelta(fields.pop(name))  # type: ignore[arg-type]
    for name, value in fields.items():
        setattr(req, name, value)
    return req


def refusal(fn: object, *args: object) -> str:
    with pytest.raises(OpsError) as err:
        fn(*args)  # type: ignore[operator]
    assert err.value.code == 400
    assert "\n" not in err.value.text
    return err.value.text


def series(name: str, values: list[float], start: float = 0.0, step: float = 15.0) -> RangeSeries:
    return RangeSeries(
        (("job", "petstore"), ("method", name)), tuple((start + i * step, v) for i, v in enumerate(values))
    )


def test_the_default_window_is_the_last_hour_at_a_nice_step() -> None:
    win = window(request(), NOW, LIMITS)
    assert (win.start, win.end, win.step) == (NOW - timedelta(hours=1), NOW, timedelta(seconds=15))
    assert win.points == 241
    assert default_step(timedelta(days=7)) == timedelta(hours=1)
    assert default_step(timedelta(minutes=5)) == timedelta(seconds=2)


def test_limits_are_refused_in_one_line_that_says_the_limit() -> None:
    text = refusal(window, request(range=timedelta(days=30)), NOW, LIMITS)
    assert text == "the range 30d is too long: a graph covers at most 7d"
    text = refusal(window, request(range=timedelta(hours=1), step=timedelta(seconds=1)), NOW, LIMITS)
    assert text == (
        "1h at a step of 1s is 3601 points per series, over the limit of 1000: use a step of 4s or more"
    )
    # The advice works: the step it names is accepted.
    assert window(request(step=timedelta(seconds=4)), NOW, LIMITS).points <= 1000
    assert "at least 1s" in refusal(window, request(step=timedelta(milliseconds=500)), NOW, LIMITS)
    assert "longer than the range" in refusal(
        window, request(range=timedelta(minutes=5), step=timedelta(minutes=10)), NOW, LIMITS
    )
    assert "longer than 0s" in refusal(window, request(range=timedelta(0)), NOW, LIMITS)
    text = refusal(checked_series, 201, LIMITS)
    assert text.startswith("the query returns 201 series, over the limit of 200")
    assert "at most 2000" in refusal(checked_query, graphs_pb2.RenderGraphRequest(query="x" * 2001))
    assert "say what to graph" in refusal(checked_query, graphs_pb2.RenderGraphRequest(query="  "))
    assert "finite" in refusal(checked_thresholds, graphs_pb2.RenderGraphRequest(thresholds=[math.inf]))
    assert "at most 5" in refusal(checked_thresholds, graphs_pb2.RenderGraphRequest(thresholds=[1.0] * 6))


def test_duration_text_reads_like_chat() -> None:
    assert [duration_text(timedelta(seconds=s)) for s in (15, 90, 3600, 5400, 7 * 86400, 1.5)] == [
        "15s",
        "1m30s",
        "1h",
        "1h30m",
        "7d",
        "1.5s",
    ]


def test_the_top_series_by_last_value_are_kept_and_the_title_says_how_many_more() -> None:
    many = [series(f"M{i}", [float(i), float(100 - i)]) for i in range(14)]
    many.append(series("empty", [math.nan, math.nan]))
    chosen = top(many, 10)
    assert [dict(s.labels)["method"] for s in chosen] == [f"M{i}" for i in range(10)]
    win = Window(NOW - timedelta(hours=1), NOW, timedelta(seconds=15))
    drawing = plan("rate(x[1m])", "", many, win, (), 10)
    assert drawing.title == "rate(x[1m])  (top 10 of 15 by last value, 5 more)"
    assert [line.label for line in drawing.lines][:2] == ['{method="M0"}', '{method="M1"}']
    assert drawing.subtitle.startswith('{job="petstore"} · 1h to 2026-01-02 15:00 UTC · step 15s')


def test_legend_labels_show_what_differs() -> None:
    one = RangeSeries((("__name__", "up"), ("job", "petstore")), ((0.0, 1.0),))
    assert legend_labels([one], "up") == (['up{job="petstore"}'], "")
    bare = RangeSeries((), ((0.0, 1.0),))
    assert legend_labels([bare], "vector(1)") == (["vector(1)"], "")
    labels, common = legend_labels([series("A", [1.0]), series("B", [2.0])], "q")
    assert labels == ['{method="A"}', '{method="B"}'] and common == '{job="petstore"}'


@given(st.lists(st.sampled_from([True, False]), min_size=1, max_size=60))
def test_missing_samples_break_the_line_and_present_ones_are_kept(present: list[bool]) -> None:
    points = [(i * 15.0, float(i)) for i, keep in enumerate(present) if keep]
    times, values = with_gaps(points, 15.0)
    assert [(t, v) for t, v in zip(times, values, strict=True) if not math.isnan(v)] == points
    assert list(times) == sorted(set(times))
    for i in range(1, len(times)):
        if not math.isnan(values[i - 1]) and not math.isnan(values[i]):
            assert times[i] - times[i - 1] <= 15.0 * 1.5, "a gap was bridged"


def test_draw_makes_a_png_of_the_promised_size_that_is_not_blank() -> None:
    win = Window(NOW - timedelta(hours=1), NOW, timedelta(seconds=15))
    start = win.start.timestamp()
    lines = [series(f"M{i}", [i + math.sin(k / 10) for k in range(241)], start) for i in range(3)]
    png = draw(plan("rate(x[1m])", "", lines, win, (1.5,), 10))
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(png)).convert("RGB")
    assert image.size == (WIDTH, HEIGHT)
    counts = {colour: n for n, colour in image.getcolors(maxcolors=WIDTH * HEIGHT) or []}
    ink = WIDTH * HEIGHT - counts.get((255, 255, 255), 0)
    assert ink > 0.02 * WIDTH * HEIGHT, "the picture is (almost) blank"
    colours = set(counts)
    for hex_colour in (*PALETTE[:3], THRESHOLD_COLOUR):
        rgb = tuple(int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
        assert rgb in colours, f"no pixel of {hex_colour}: a line is missing"
