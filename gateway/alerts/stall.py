"""Stalls: Slack refusing alert posts until a person fixes something, per channel or for the token.

While a scope is stalled its notifications wait instead of each asking Slack again: one of them
(the probe) tries when the back-off has passed, and its outcome clears the stall (everything waiting
goes out) or doubles the back-off. The stalls are what the gateway's /healthz and metrics say.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass

from chatops import logs
from gateway.alerts.failures import EVERYWHERE, Backoff, Stall

log = logs.get_logger(__name__)


@dataclass
class Stalled:
    """One stall in force: since when (unix time), Slack's error, and when the next probe may go."""

    scope: str
    error: str
    reason: str
    since: float
    backoff: float
    next_try: float
    probing: bool = False


def _took(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


class Stalls:
    """The stalls in force; `admit` lets a call through, or waits for the probe's outcome."""

    def __init__(
        self,
        backoff: Backoff,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.backoff = backoff
        self.clock, self.wall = clock, wall
        self._stalls: dict[str, Stalled] = {}
        self._event = asyncio.Event()

    def _wake(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    def blocking(self, channel: str) -> Stalled | None:
        """The stall that keeps a call for `channel` back: the token's first, then the channel's."""
        return self._stalls.get(EVERYWHERE) or self._stalls.get(channel)

    async def admit(self, channel: str, until: float | None = None) -> Stalled | None:
        """None when a call for `channel` may go now (as the probe, if a stall is in force); the
        stall still in force when `until` (monotonic) comes first."""
        while True:
            stall = self.blocking(channel)
            if stall is None:
                return None
            now = self.clock()
            if not stall.probing and now >= stall.next_try:
                stall.probing = True
                return None
            wait = stall.next_try - now if not stall.probing else stall.backoff
            if until is not None:
                if now >= until:
                    return stall
                wait = min(wait, until - now)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._event.wait(), timeout=max(0.01, wait))

    def failed(self, stall: Stall) -> Stalled:
        """A call met a refusal: the scope stalls, or stays stalled with twice the back-off."""
        now = self.clock()
        current = self._stalls.get(stall.scope)
        if current is None:
            current = Stalled(
                stall.scope,
                stall.error,
                stall.reason,
                self.wall(),
                self.backoff.first,
                now + self.backoff.first,
            )
            self._stalls[stall.scope] = current
            log.warning("alerts.stalled", scope=stall.scope, error=stall.error, reason=stall.reason)
        else:
            current.backoff = min(self.backoff.most, current.backoff * 2)
            current.next_try = now + current.backoff
            current.error, current.reason, current.probing = stall.error, stall.reason, False
        self._wake()
        return current

    def cleared(self, channel: str) -> None:
        """A call for `channel` worked: its stall, and the token's, are over."""
        for scope in (channel, EVERYWHERE):
            stall = self._stalls.pop(scope, None)
            if stall is not None:
                log.info(
                    "alerts.stall_over",
                    scope=scope,
                    error=stall.error,
                    lasted=_took(self.wall() - stall.since),
                )
                self._wake()

    def released(self, channel: str) -> None:
        """A probe ended without an answer either way (a time-out, a busy group): another may try."""
        stall = self.blocking(channel)
        if stall is not None and stall.probing:
            stall.probing = False
            self._wake()

    def drop(self, scope: str) -> None:
        """No notification waits for `scope` any more: nothing is stalled there (until the next try)."""
        if self._stalls.pop(scope, None) is not None:
            self._wake()

    def snapshot(self) -> list[Stalled]:
        return list(self._stalls.values())

    def problem(self) -> str:
        """For /healthz: each stall in force, how long, and what to do; "" when there is none."""
        now = self.wall()
        return "; ".join(
            f"alert delivery stalled for {_took(now - s.since)}: {s.reason}" for s in self._stalls.values()
        )
