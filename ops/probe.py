"""Is the trace store answering? A probe every few seconds sets `chatops_ops_trace_store_up`.

Commands only find out when someone asks for traces; the probe tells Prometheus before that.
"""

from __future__ import annotations

import asyncio

from prometheus_client import Gauge

from chatops import logs
from chatops.lifecycle import cancelled
from ops.backends.traces import TraceBackend
from ops.errors import OpsError

log = logs.get_logger(__name__)

PROBE_EVERY = 15.0


class TraceStoreProbe:
    """Calls `traces.check()` every `every` seconds; the gauge says 1 (answered) or 0 (did not)."""

    def __init__(self, traces: TraceBackend, up: Gauge, *, every: float = PROBE_EVERY) -> None:
        self.traces = traces
        self.up = up
        self.every = every
        self._task: asyncio.Task[None] | None = None
        self._was_up: bool | None = None

    async def probe(self) -> bool:
        """One check; the gauge and (on a change) the log say how it went."""
        try:
            await asyncio.wait_for(self.traces.check(), self.every)
            problem = ""
        except (OpsError, TimeoutError) as exc:
            problem = str(exc) or "no answer within the probe interval"
        up = not problem
        self.up.set(1 if up else 0)
        if up != self._was_up:
            if up:
                log.info("traces.store_up")
            else:
                log.warning("traces.store_down", error=problem)
        self._was_up = up
        return up

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="trace-store-probe")

    async def stop(self) -> None:
        await cancelled(self._task)
        self._task = None

    async def _run(self) -> None:
        while True:
            await self.probe()
            await asyncio.sleep(self.every)
