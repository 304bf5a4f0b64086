"""`eventually`: wait for a condition by checking it until it holds, never by sleeping a fixed time.

A check returns something truthy once the condition holds (that value is returned). Returning
something falsy, or raising AssertionError or OSError (a server not listening yet, a connection
reset), means "not yet": it is checked again after `interval` until `timeout`, and then the
failure names `what` and the last answer. Any other exception ends the wait at once, so a check can
say "this will never happen" (a process that exited) without waiting out the timeout.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")
NOT_YET = (AssertionError, OSError)


class Attempts:
    """One wait's deadline and last answer; both flavours below share it."""

    def __init__(self, what: str, timeout: float) -> None:
        self.what = what
        self.timeout = timeout
        self.deadline = time.monotonic() + timeout
        self.last: object = None

    def done(self, value: object) -> bool:
        self.last = value
        return bool(value)

    def failed(self, exc: BaseException) -> None:
        self.last = exc

    def expire(self) -> None:
        """Raise when time is up: AssertionError naming what did not happen and the last answer."""
        if time.monotonic() > self.deadline:
            raise AssertionError(f"not within {self.timeout:g}s: {self.what} (last: {self.last!r})")


async def eventually(
    check: Callable[[], T | Awaitable[T]],
    *,
    timeout: float = 30.0,
    interval: float = 0.1,
    what: str = "the condition",
) -> T:
    """Check (a function or a coroutine function) until it returns something truthy, and return that."""
    attempts = Attempts(what, timeout)
    while True:
        try:
            value = check()
            if inspect.isawaitable(value):
                value = await value
            if attempts.done(value):
                return value  # type: ignore[return-value]
        except NOT_YET as exc:
            attempts.failed(exc)
        attempts.expire()
        await asyncio.sleep(interval)


def eventually_sync(
    check: Callable[[], T], *, timeout: float = 30.0, interval: float = 0.1, what: str = "the condition"
) -> T:
    """`eventually` for code without an event loop (fixtures that start processes, threads)."""
    attempts = Attempts(what, timeout)
    while True:
        try:
            value = check()
            if attempts.done(value):
                return value
        except NOT_YET as exc:
            attempts.failed(exc)
        attempts.expire()
        time.sleep(interval)
