"""Drawing off the event loop: a small pool of worker processes with a bound on graphs in flight."""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Protocol

from chatops import logs
from chatops.errors import BACKEND_FAILED, BACKEND_TIMEOUT, BUSY
from ops.errors import OpsError
from ops.graphs.draw import draw
from ops.graphs.plan import Drawing

log = logs.get_logger(__name__)
NAME = "graph renderer"
# A worker is replaced after this many graphs, so a slow leak in a plotting library stays small.
TASKS_PER_WORKER = 200


class Renderer(Protocol):
    """Turns a Drawing into PNG bytes without blocking the caller's event loop."""

    async def render(self, drawing: Drawing) -> bytes: ...


class ProcessRenderer:
    """At most `workers` graphs drawn at once in worker processes; the rest wait `wait` s, then 503 busy.

    Processes rather than threads: drawing is CPU work that holds the GIL, and would otherwise slow every
    other command ops is answering. Workers start on the first graph, not with ops.
    """

    def __init__(
        self,
        workers: int,
        *,
        wait: float = 10.0,
        timeout: float = 30.0,
        drawer: Callable[[Drawing], bytes] = draw,
    ) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.workers, self.wait, self.timeout = workers, wait, timeout
        self._draw = drawer  # a module-level function: it is pickled by name into the workers
        self._slots = asyncio.Semaphore(workers)
        self._busy = 0
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        # "spawn": a fork of a process running an event loop and threads is not safe.
        return ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            max_tasks_per_child=TASKS_PER_WORKER,
        )

    async def render(self, drawing: Drawing) -> bytes:
        try:
            async with asyncio.timeout(self.wait):
                await self._slots.acquire()
        except TimeoutError:
            raise OpsError(
                BUSY,
                f"the {NAME} is busy: all {self.workers} of its workers are drawing; try again in a moment",
                backend=NAME,
            ) from None
        self._busy += 1
        try:
            future: Future[bytes] = self._pool.submit(self._draw, drawing)
        except BrokenProcessPool:
            self._give_back()
            self._replace_pool()
            raise OpsError(BACKEND_FAILED, f"the {NAME} had to restart; try again", backend=NAME) from None
        # The slot is given back when the drawing really ends, even if we stop waiting for it: the
        # bound counts work in the processes, not callers. The callback runs on the pool's thread.
        loop = asyncio.get_running_loop()

        def done(_: Future[bytes]) -> None:
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is left to wait
                loop.call_soon_threadsafe(self._give_back)

        future.add_done_callback(done)
        try:
            async with asyncio.timeout(self.timeout):
                return await asyncio.wrap_future(future)
        except TimeoutError:
            raise OpsError(
                BACKEND_TIMEOUT, f"the {NAME} took longer than {self.timeout:g}s", backend=NAME
            ) from None
        except BrokenProcessPool:
            self._replace_pool()
            raise OpsError(
                BACKEND_FAILED, f"the {NAME} crashed while drawing; try again", backend=NAME
            ) from None

    @property
    def busy(self) -> int:
        """Graphs being drawn (or abandoned by their caller but still drawing) right now."""
        return self._busy

    def _give_back(self) -> None:
        self._busy -= 1
        self._slots.release()

    def _replace_pool(self) -> None:
        log.warning("graphs.pool_restarted")
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = self._new_pool()

    def close(self) -> None:
        """Stop the workers; graphs being drawn are abandoned."""
        self._pool.shutdown(wait=False, cancel_futures=True)
