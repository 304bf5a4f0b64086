"""What a graph costs ops: drawing time, PNG size, and how much drawing delays ops' event loop.

Draws a typical graph (10 series of 241 points: an hour at 15 s) in-process, then through the
worker-process pool ops uses (first graph: the worker starts; then warm), and measures the event
loop's worst lag while 20 graphs are drawn through the pool versus in a thread, which is why ops
draws in processes. Needs nothing running.

    .venv/bin/python bench/graph_render.py [--graphs 20] [--series 10] [--points 241]
"""

from __future__ import annotations

import asyncio
import math
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench import arguments

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ops.backends.prometheus import RangeSeries  # noqa: E402
from ops.graphs.draw import draw  # noqa: E402
from ops.graphs.plan import Drawing, plan  # noqa: E402
from ops.graphs.pool import ProcessRenderer  # noqa: E402
from ops.graphs.window import Window  # noqa: E402


def drawing(series: int, points: int) -> Drawing:
    end = datetime.now(UTC)
    win = Window(end - timedelta(seconds=15 * (points - 1)), end, timedelta(seconds=15))
    start = win.start.timestamp()
    data = [
        RangeSeries(
            (("job", "petstore"), ("method", f"Method{i}")),
            tuple((start + k * 15, 10 + i + 3 * math.sin(k / 12 + i)) for k in range(points)),
        )
        for i in range(series)
    ]
    return plan("rate(petstore_requests_total[1m])", "", data, win, (12.5,), 10)


async def worst_lag(work: Callable[[], Awaitable[object]]) -> tuple[float, float]:
    """(seconds the work took, the event loop's worst lag meanwhile) with a 5 ms ticker running."""
    loop = asyncio.get_running_loop()
    lags: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        while not done.is_set():
            before = loop.time()
            await asyncio.sleep(0.005)
            lags.append(loop.time() - before - 0.005)

    tick = asyncio.create_task(ticker())
    started = time.perf_counter()
    await work()
    took = time.perf_counter() - started
    done.set()
    await tick
    return took, max(lags, default=0.0)


async def main(graphs: int, series: int, points: int) -> None:
    d = drawing(series, points)
    times = []
    for _ in range(5):
        t = time.perf_counter()
        png = draw(d)
        times.append(time.perf_counter() - t)
    print(f"graph: {series} series x {points} points, {d.width}x{d.height} px, PNG {len(png) / 1024:.0f} KiB")
    print(f"draw in-process, p50 of 5:            {statistics.median(times) * 1000:7.0f} ms")

    renderer = ProcessRenderer(2)
    try:
        t = time.perf_counter()
        await renderer.render(d)
        print(f"first graph through the pool (start): {(time.perf_counter() - t) * 1000:7.0f} ms")
        warm = []
        for _ in range(5):
            t = time.perf_counter()
            await renderer.render(d)
            warm.append(time.perf_counter() - t)
        print(f"warm pool, p50 of 5:                  {statistics.median(warm) * 1000:7.0f} ms")

        async def through_pool() -> None:
            await asyncio.gather(*(renderer.render(d) for _ in range(graphs)))

        async def in_thread() -> None:
            for _ in range(graphs):
                await asyncio.to_thread(draw, d)

        for name, work in (("pool of 2 processes", through_pool), ("one thread (for scale)", in_thread)):
            took, lag = await worst_lag(work)
            print(f"{graphs} graphs, {name:23} {took:6.2f} s, event loop worst lag {lag * 1000:6.1f} ms")
    finally:
        renderer.close()


if __name__ == "__main__":
    p = arguments(__doc__)
    p.add_argument("--graphs", type=int, default=20)
    p.add_argument("--series", type=int, default=10)
    p.add_argument("--points", type=int, default=241)
    args = p.parse_args()
    asyncio.run(main(args.graphs, args.series, args.points))
