"""The drawing pool: a bound on graphs drawn at once (503 busy beyond it), and a crashed worker replaced."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from ops.errors import OpsError
from ops.graphs.plan import Drawing
from ops.graphs.pool import ProcessRenderer
from tests.ops import drawers
from tools.harness.wait import eventually


def drawing(title: str) -> Drawing:
    return Drawing(title=title, subtitle="", lines=(), thresholds=(), start=0.0, end=60.0)


async def test_past_its_workers_the_renderer_says_busy_and_recovers(tmp_path: Path) -> None:
    gate = tmp_path / "open"
    renderer = ProcessRenderer(1, wait=0.2, drawer=drawers.until_file_exists)
    try:
        first = asyncio.create_task(renderer.render(drawing(str(gate))))
        # The first render takes the only worker, and holds it until the gate opens.
        await eventually(lambda: renderer.busy == 1, what="the first render holding the worker")
        with pytest.raises(OpsError) as busy:
            await renderer.render(drawing("second"))
        assert busy.value.code == 503
        assert (
            busy.value.text
            == "the graph renderer is busy: all 1 of its workers are drawing; try again in a moment"
        )
        gate.touch()
        assert await first == f"drawn {gate}".encode()
        gate_too = tmp_path / "open-too"
        gate_too.touch()
        assert await renderer.render(drawing(str(gate_too))) == f"drawn {gate_too}".encode()
        assert renderer.busy == 0
    finally:
        renderer.close()


async def test_a_worker_that_dies_is_a_502_and_the_next_graph_is_drawn() -> None:
    renderer = ProcessRenderer(1, drawer=drawers.crash_on_request)
    try:
        with pytest.raises(OpsError) as crashed:
            await renderer.render(drawing("crash"))
        assert crashed.value.code == 502 and "crashed" in crashed.value.text
        assert await renderer.render(drawing("fine")) == b"drawn fine"
        assert renderer.busy == 0
    finally:
        renderer.close()
