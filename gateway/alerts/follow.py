"""Follow a stream from the latest message of each subject on, in stream order: how every gateway
replica rebuilds its in-memory projection of card events and records from the bus alone.

An ephemeral pull consumer (no acks) starts at the last message per subject, so a replica that starts
reads each card's and silence's current state, not their whole history; then it takes new messages
as they come. A consumer that vanished (the server dropped it while the gateway was cut off, or the
stream was made again) is made again from the sequence after the last one seen.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from chatops import logs
from chatops.lifecycle import cancelled

log = logs.get_logger(__name__)

BATCH = 256
IDLE_CONSUMER = 60.0  # the server drops the consumer after this long without a fetch

Handler = Callable[[list[Msg]], Awaitable[None]]


class Follower:
    """Hands each batch of `subject`'s messages in `stream` to `handle`, in order, until stopped."""

    def __init__(
        self, js: JetStreamContext, stream: str, subject: str, handle: Handler, *, fetch_timeout: float = 2.0
    ) -> None:
        self.js, self.stream, self.subject, self.handle = js, stream, subject, handle
        self.fetch_timeout = fetch_timeout
        self.caught_up = asyncio.Event()  # set once everything there was at the start is handled
        self._last = 0  # the last stream sequence handled
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"follow-{self.stream}")

    async def stop(self) -> None:
        await cancelled(self._task)
        self._task = None

    def _config(self) -> ConsumerConfig:
        config = ConsumerConfig(
            ack_policy=AckPolicy.NONE,
            filter_subject=self.subject,
            inactive_threshold=IDLE_CONSUMER,
            deliver_policy=DeliverPolicy.LAST_PER_SUBJECT,
        )
        if self._last:
            config.deliver_policy = DeliverPolicy.BY_START_SEQUENCE
            config.opt_start_seq = self._last + 1
        return config

    async def _subscribe(self) -> JetStreamContext.PullSubscription:
        delay = 0.5
        while True:
            try:
                sub = await self.js.pull_subscribe(self.subject, stream=self.stream, config=self._config())
                if not self.caught_up.is_set() and not (await sub.consumer_info()).num_pending:
                    self.caught_up.set()
                return sub
            except Exception as exc:  # the bus or the stream is not there yet
                log.warning("cards.follow_retry", stream=self.stream, error=f"{type(exc).__name__}: {exc}")
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)

    async def _run(self) -> None:
        sub = await self._subscribe()
        try:
            while True:
                try:
                    msgs = await sub.fetch(BATCH, timeout=self.fetch_timeout)
                except (NatsTimeoutError, TimeoutError):
                    self.caught_up.set()
                    continue
                except Exception as exc:  # the consumer or the stream is gone: again from where we were
                    log.warning("cards.follow_lost", stream=self.stream, error=f"{type(exc).__name__}: {exc}")
                    with contextlib.suppress(Exception):
                        await sub.unsubscribe()
                    await asyncio.sleep(1.0)
                    sub = await self._subscribe()
                    continue
                fresh = [m for m in msgs if int(m.metadata.sequence.stream) > self._last]
                if fresh:
                    try:
                        await self.handle(fresh)
                    except Exception:  # a bug must not stop the projection
                        log.exception("cards.follow_handler_failed", stream=self.stream)
                    self._last = int(fresh[-1].metadata.sequence.stream)
                if msgs and not msgs[-1].metadata.num_pending:
                    self.caught_up.set()
        finally:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()
