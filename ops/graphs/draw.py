"""Draw a Drawing as a PNG with matplotlib's Agg canvas; CPU-bound, so it runs in a worker process."""

from __future__ import annotations

import io
import math
import textwrap
from datetime import UTC, datetime

from matplotlib import dates as mdates
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import ScalarFormatter

from ops.graphs.plan import Drawing

# Ten colours that stay apart for most colour-blind readers (matplotlib's "tab10").
PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#bcbd22",
    "#7f7f7f",
    "#aec7e8",
)
THRESHOLD_COLOUR = "#d62728"
SPARSE = 30  # points or fewer: mark each one
TITLE_LINE = 92  # characters of the bold title per line at this size


def _wrapped(title: str) -> str:
    """At most two lines that fit the picture's width; the rest is cut with an ellipsis."""
    lines = textwrap.wrap(title, TITLE_LINE) or [""]
    if len(lines) > 2:
        lines = [lines[0], lines[1][: TITLE_LINE - 1] + "…"]
    return "\n".join(lines)


def _days(times: tuple[float, ...]) -> list[float]:
    """Unix seconds -> matplotlib's date numbers, whatever epoch matplotlib is set to."""
    moments = [datetime.fromtimestamp(t, UTC) for t in times]
    return [float(n) for n in mdates.date2num(moments)]  # type: ignore[no-untyped-call]


def draw(d: Drawing) -> bytes:
    """The PNG bytes of `d`, exactly d.width x d.height pixels; touches no global matplotlib state."""
    # Figure + FigureCanvasAgg, not pyplot: no global figure registry and no GUI backend to pick.
    fig = Figure(figsize=(d.width / d.dpi, d.height / d.dpi), dpi=d.dpi, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for i, line in enumerate(d.lines):
        # A series with few samples (a new metric, a short outage) would be a speck without markers.
        sparse = sum(1 for v in line.values if math.isfinite(v)) <= SPARSE
        ax.plot(
            _days(line.times),
            line.values,
            color=PALETTE[i % len(PALETTE)],
            linewidth=1.6,
            label=line.label,
            marker="o" if sparse else None,
            markersize=3.5,
        )
    for value in d.thresholds:
        ax.axhline(value, color=THRESHOLD_COLOUR, linestyle="--", linewidth=1.4, label=f"threshold {value:g}")
    start, end = _days((d.start, d.end))
    # A little room on the right, so the newest point (often the one that matters) is not cut in half.
    ax.set_xlim(start, end + (end - start) * 0.01)
    locator = mdates.AutoDateLocator(tz=UTC, minticks=4, maxticks=9)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, tz=UTC))  # type: ignore[no-untyped-call]
    formatter = ScalarFormatter(useOffset=False)
    formatter.set_powerlimits((-3, 4))
    ax.yaxis.set_major_formatter(formatter)
    ax.grid(True, color="#dddddd", linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.set_xlabel("time (UTC)", fontsize=9, color="#555555")
    fig.suptitle(_wrapped(d.title), x=0.01, ha="left", fontsize=12, fontweight="bold")
    ax.set_title(d.subtitle, loc="left", fontsize=9, color="#555555")
    if d.lines or d.thresholds:
        entries = len(d.lines) + len(d.thresholds)
        fig.legend(loc="outside lower center", ncols=2 if entries > 3 else entries, fontsize=9, frameon=False)
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=d.dpi, metadata={"Software": None})
    return out.getvalue()
