"""Process lifetime: the one way every component learns it should stop."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, TypeVar

from chatops import logs

log = logs.get_logger(__name__)
T = TypeVar("T")


def stop_on_signals() -> asyncio.Event:
    """An event set on SIGTERM or SIGINT, handled by the running loop (call from the main thread)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def cancelled(task: asyncio.Task[Any] | None) -> None:
    """Cancel `task` (None: nothing to do) and wait until it has stopped."""
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def serve_until_signal(running: AbstractAsyncContextManager[object], name: str) -> None:
    """Enter `running` and leave it on SIGTERM or SIGINT; a signal during start-up (e.g. NATS not
    reachable yet) stops at once."""
    stop = stop_on_signals()
    started = asyncio.Event()

    async def run() -> None:
        async with running:
            started.set()
            await stop.wait()

    service = asyncio.create_task(run())
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({service, stopping}, return_when=asyncio.FIRST_COMPLETED)
    if not started.is_set() and not service.done():
        log.info(f"{name}.stopped_during_startup")
        service.cancel()
    stopping.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await service  # its own way out: the exit stack drains and stops every part


async def retried(
    attempt: Callable[[], Awaitable[T]],
    *,
    event: str,
    going: Callable[[], bool] = lambda: True,
    first: float = 0.5,
    most: float = 10.0,
) -> T:
    """`attempt()` until it works, logging `event` and backing off from `first` to `most` seconds
    after each failure (e.g. the bus is not there yet); CancelledError once `going()` is False."""
    delay = first
    while going():
        try:
            return await attempt()
        except Exception as exc:  # keep trying, never crash the component
            log.warning(event, error=f"{type(exc).__name__}: {exc}", delay=delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, most)
    raise asyncio.CancelledError
