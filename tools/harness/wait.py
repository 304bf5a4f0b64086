"""`eventually`: wait for a condition by checking it until it holds, never by sleeping a fixed time.

A check returns something truthy once the condition holds (that value is returned). Returning
something falsy, or raising AssertionError or OSError (a server not listening yet, a connection
reset), means "not yet": it is checked again after `interval` until `timeout`, and then the
failure names `what` and the last answer. Any other exception ends the wait at once, so a check can
say "this will never happen" (a process that exited) without waiting out the timeout.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar, overload

T = TypeVar("T")
NOT_YET = (AssertionError, OSError)


class Attempts:
    """One wait's deadline and last answer; both flavours below share it."""

    def __init__(self, what: str, timeout: float) -> None:
        self.what = what
        self.timeout = timeout
        self.deadline = time.monotonic() + timeout
        self.last: object = None
        self.held = False

    def holds(self, value: object) -> bool:
        self.last = value
        self.held = bool(value)
        return self.held

    @contextmanager
    def attempt(self) -> Iterator[None]:
        """One check: "not yet" answers are kept for the message; past the deadline, AssertionError."""
        try:
            yield
        except NOT_YET as exc:
            self.last = exc
        if not self.held and time.monotonic() > self.deadline:
            raise AssertionError(f"not within {self.timeout:g}s: {self.what} (last: {self.last!r})")


@overload
async def eventually(
    check: Callable[[], Awaitable[T | None]], *, timeout: float = ..., interval: float = ..., what: str = ...
) -> T: ...


@overload
async def eventually(
    check: Callable[[], T | None], *, timeout: float = ..., interval: float = ..., what: str = ...
) -> T: ...


async def eventually(
    check: Callable[[], Any],
    *,
    timeout: float = 30.0,
    interval: float = 0.1,
    what: str = "the condition",
) -> Any:
    """Check (a function or a coroutine function) until it returns something truthy, and return that."""
    attempts = Attempts(what, timeout)
    while True:
        with attempts.attempt():
            value: Any = check()
            if inspect.isawaitable(value):
                value = await value
            if attempts.holds(value):
                return value
        await asyncio.sleep(interval)


def eventually_sync(
    check: Callable[[], T | None],
    *,
    timeout: float = 30.0,
    interval: float = 0.1,
    what: str = "the condition",
) -> T:
    """`eventually` for code without an event loop of its own (fixtures that start processes)."""
    return in_thread(eventually(check, timeout=timeout, interval=interval, what=what))


def in_thread(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to the end from synchronous code, even while an event loop runs in this thread."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()
