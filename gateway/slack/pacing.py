"""Pace Slack before it says 429: one queue per channel for posts, one per method for the other calls.

Slack allows about one chat.postMessage per second per channel, with short bursts, and gives every
other method a tier (calls per minute per workspace). `Pacer` wraps the gateway's one `TaggedChat`
and hands out views of it (`chat(priority)`): replies to people and alert delivery share the lanes,
so together they stay under the limits, and callers are paced without knowing. A channel's lane
never holds up another channel's; within a lane, people go before alerts. When Slack answers 429 all
the same, the lane waits out Retry-After and the call is made again (a 429 means it was not done).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Protocol, TypeVar, runtime_checkable

from chatops import logs
from gateway.render.slack import SlackMessage, SlackUpload
from gateway.slack.chat import ChatError, Failure, Posted, Tag, TaggedChat

log = logs.get_logger(__name__)

T = TypeVar("T")

TIER_2, TIER_3, TIER_4 = 20 / 60, 50 / 60, 100 / 60  # Slack's rate tiers, calls per second
# The method behind each Chat call that is not a post, its tier, and the burst allowed.
TIERS: dict[str, tuple[float, float]] = {
    "chat.update": (TIER_3, 10),
    "chat.postEphemeral": (TIER_4, 20),
    "reactions.add": (TIER_3, 10),
    "users.info": (TIER_4, 20),
    "files.upload": (TIER_4, 10),  # getUploadURLExternal and completeUploadExternal, one each per file
    "conversations.history": (TIER_3, 10),
}
RETRIES = 3  # times a call answered 429 is made again after Retry-After


class Priority(IntEnum):
    """Who waits: a person's reply goes before alert delivery in the same lane."""

    PERSON = 0
    ALERT = 1


class Clock(Protocol):
    """Time for the pacer; tests inject one they move by hand."""

    def now(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class MonotonicClock:
    def now(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


@dataclass
class Bucket:
    """`rate` tokens a second up to `burst`; `held_until` is a Retry-After in force."""

    rate: float
    burst: float
    tokens: float = field(init=False)
    stamp: float = 0.0
    held_until: float = 0.0

    def __post_init__(self) -> None:
        self.tokens = self.burst

    def _refill(self, now: float) -> None:
        self.tokens = min(self.burst, self.tokens + max(0.0, now - self.stamp) * self.rate)
        self.stamp = now

    def wait(self, now: float) -> float:
        """Seconds until a call may go (0: now)."""
        self._refill(now)
        if now < self.held_until:
            return self.held_until - now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    def take(self, now: float) -> None:
        self._refill(now)
        self.tokens -= 1

    def hold(self, until: float) -> None:
        """Slack said 429: nothing goes before `until`, and the burst is spent."""
        self.held_until = max(self.held_until, until)
        self.tokens = min(self.tokens, 0.0)

    def full(self, now: float) -> bool:
        self._refill(now)
        return self.tokens >= self.burst and now >= self.held_until


class Lane:
    """One bucket and the callers waiting for it, in priority then arrival order."""

    def __init__(self, bucket: Bucket, clock: Clock) -> None:
        self.bucket = bucket
        self.clock = clock
        self._waiting: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._dispatcher: asyncio.Task[None] | None = None

    def idle(self) -> bool:
        return not self._waiting and self.bucket.full(self.clock.now())

    async def turn(self, priority: Priority) -> None:
        """Return when this caller may make its call."""
        if not self._waiting and self.bucket.wait(self.clock.now()) == 0:
            self.bucket.take(self.clock.now())
            return
        ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting, (int(priority), next(self._order), ready))
        if self._dispatcher is None or self._dispatcher.done():
            self._dispatcher = asyncio.create_task(self._dispatch())
        await ready  # a caller that gives up is skipped: its future is cancelled

    async def _dispatch(self) -> None:
        while self._waiting:
            if self._waiting[0][2].done():
                heapq.heappop(self._waiting)
                continue
            wait = self.bucket.wait(self.clock.now())
            if wait > 0:
                await self.clock.sleep(wait)
                continue
            self.bucket.take(self.clock.now())
            heapq.heappop(self._waiting)[2].set_result(None)


class Pacer:
    """The lanes of one Slack workspace; `chat(priority)` is a Chat whose calls wait their turn."""

    def __init__(
        self,
        chat: TaggedChat,
        *,
        post_rate: float = 1.0,
        post_burst: float = 3.0,
        tiers: dict[str, tuple[float, float]] | None = None,
        tier_scale: float = 1.0,
        clock: Clock | None = None,
        retries: int = RETRIES,
    ) -> None:
        self.inner = chat
        self.post_rate = post_rate
        self.post_burst = post_burst
        self.tiers = dict(TIERS if tiers is None else tiers)
        self.tier_scale = tier_scale  # a Slack with higher limits than the documented tiers
        self.clock = clock or MonotonicClock()
        self.retries = retries
        self.channels: dict[str, Lane] = {}
        self.methods: dict[str, Lane] = {}
        self.rate_limited = 0  # 429s Slack answered all the same

    def chat(self, priority: Priority) -> PacedChat:
        return PacedChat(self, priority)

    def channel_lane(self, channel: str) -> Lane:
        lane = self.channels.get(channel)
        if lane is None:
            if len(self.channels) >= 64:  # forget lanes with nothing to remember: no growth per channel
                for name in [n for n, idle in self.channels.items() if idle.idle()]:
                    del self.channels[name]
            lane = self.channels[channel] = Lane(Bucket(self.post_rate, self.post_burst), self.clock)
        return lane

    def method_lane(self, method: str) -> Lane:
        lane = self.methods.get(method)
        if lane is None:
            rate, burst = self.tiers.get(method, (TIER_2, 5))
            bucket = Bucket(rate * self.tier_scale, burst * self.tier_scale)
            lane = self.methods[method] = Lane(bucket, self.clock)
        return lane

    async def call(self, lanes: tuple[Lane, ...], priority: Priority, make: Callable[[], Awaitable[T]]) -> T:
        """Make one call when every lane it counts against allows it; wait out and redo a 429."""
        attempt = 0
        while True:
            for lane in lanes:
                await lane.turn(priority)
            try:
                return await make()
            except ChatError as exc:
                if exc.failure is not Failure.RATE_LIMITED or attempt >= self.retries:
                    raise
                attempt += 1
                self.rate_limited += 1
                until = self.clock.now() + max(exc.retry_after, 1.0)
                for lane in lanes:
                    lane.bucket.hold(until)
                log.warning("slack.rate_limited", retry_after=exc.retry_after, attempt=attempt)


class PacedChat:
    """A TaggedChat whose every call waits for its lanes; one per priority, over one Pacer."""

    def __init__(self, pacer: Pacer, priority: Priority) -> None:
        self.pacer = pacer
        self.priority = priority

    def _call(self, lanes: tuple[Lane, ...], make: Callable[[], Awaitable[T]]) -> Awaitable[T]:
        return self.pacer.call(lanes, self.priority, make)

    async def post(
        self, channel: str, message: SlackMessage, thread_ts: str = "", tag: Tag | None = None
    ) -> Posted:
        lanes = (self.pacer.channel_lane(channel),)
        return await self._call(lanes, lambda: self.pacer.inner.post(channel, message, thread_ts, tag=tag))

    async def find(self, channel: str, tag: Tag, *, thread_ts: str = "", oldest: float = 0.0) -> str | None:
        lanes = (self.pacer.method_lane("conversations.history"),)
        return await self._call(
            lanes, lambda: self.pacer.inner.find(channel, tag, thread_ts=thread_ts, oldest=oldest)
        )

    async def upload(self, channel: str, upload: SlackUpload, thread_ts: str = "") -> str:
        # The file is shared into the channel as a message: it counts against the channel too.
        lanes = (self.pacer.method_lane("files.upload"), self.pacer.channel_lane(channel))
        return await self._call(lanes, lambda: self.pacer.inner.upload(channel, upload, thread_ts))

    async def update(self, channel: str, ts: str, message: SlackMessage) -> None:
        lanes = (self.pacer.method_lane("chat.update"),)
        await self._call(lanes, lambda: self.pacer.inner.update(channel, ts, message))

    async def ephemeral(self, channel: str, user: str, text: str, thread_ts: str = "") -> None:
        lanes = (self.pacer.method_lane("chat.postEphemeral"),)
        await self._call(lanes, lambda: self.pacer.inner.ephemeral(channel, user, text, thread_ts))

    async def react(self, channel: str, ts: str, name: str) -> None:
        lanes = (self.pacer.method_lane("reactions.add"),)
        await self._call(lanes, lambda: self.pacer.inner.react(channel, ts, name))

    async def user_name(self, user: str) -> str:
        cached = self.pacer.inner.cached_name(user) if isinstance(self.pacer.inner, NameCache) else None
        if cached is not None:
            return cached  # no call to Slack, nothing to pace
        lanes = (self.pacer.method_lane("users.info"),)
        return await self._call(lanes, lambda: self.pacer.inner.user_name(user))


@runtime_checkable
class NameCache(Protocol):
    """A chat that can say a user's name without asking the chat service."""

    def cached_name(self, user: str) -> str | None: ...
