"""Delivery of CHATOPS_ALERTS to chat: every notification shown once, in order within its group.

Order and concurrency: one durable pull consumer hands out up to `max_in_flight` notifications at
once (its max_ack_pending). In a gateway each alert group has a queue, in the group's order, and one
worker: the head is shown (retried in place while it fails, kept from redelivery by in-progress
acks), then the next. So a group that cannot be shown holds up only itself, and the others go on; a
group with `per_group` notifications waiting takes no more for a while (they are nak'd with a delay
and come back), so one noisy or stuck group cannot fill the window either. Across gateway replicas,
two notifications of a group may go to two gateways: the claim in the group's KV record keeps them
from changing its message at the same time (gateway/alerts/poster.py), and the order key (when the
notifier received a notification) keeps an older one from replacing a newer one already shown: it
is acked as superseded, which loses nothing, since each notification is a snapshot of its whole
group. A firing one arriving after the group's resolve is checked against it by the alerts' own
times (gateway/alerts/stale.py): an old snapshot of the group changes nothing. Per-group subjects
were the alternative; they would change the subjects every tool reads and still need the same
record checks across replicas.

Failures: rate limits and outages are retried with back-off; Slack refusing a channel or the token
stalls that scope (gateway/alerts/stall.py, said by /healthz and chatops_gateway_alerts_stalled)
until it works again; a message refused for its content goes as plain text; what is not delivered
within `dead_letter_after` seconds of being stored, or never can be, goes to CHATOPS_DEADLETTER with
the reason (`dead letters` lists it, `replay dead letters` puts it back).

Lifecycle: a consumer or stream that disappears is made again and subscribed to. A new durable
starts `backfill` seconds back (0: at new notifications only), so a gateway that starts delivering
late does not post a month of history.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.client import JetStreamContext
from nats.js.errors import NotFoundError

from chatops import codec, logs
from chatops.codec import CodecError
from chatops.lease import process_id
from chatops.lifecycle import retried
from chatops.streams import ensure, kv_stream
from chatops.subjects import (
    ALERTS_DELIVERY_DURABLE,
    ALERTS_PREFIX,
    ALERTS_STREAM,
    DEADLETTER_STREAM,
    KV_ALERT_MESSAGES,
)
from chatops.v1.events_pb2 import AlertNotification
from gateway.alerts.deadletter import Letter, publish_dead_letter
from gateway.alerts.failures import EVERYWHERE, Backoff, GiveUp, Stall, classify
from gateway.alerts.poster import AfterPost, GroupBusy, Poster, Viewer, Work
from gateway.alerts.render import Limits
from gateway.alerts.routing import Route, channel_for
from gateway.alerts.stale import shown_notification
from gateway.alerts.stall import Stalls
from gateway.alerts.store import MessageStore, group_ref, mark_of
from gateway.metrics import GatewayMetrics
from gateway.slack.chat import TaggedChat

log = logs.get_logger(__name__)

STOP_GRACE = 15.0  # how long stop() lets chat calls under way finish
BATCH = 64  # notifications asked for per fetch at most
CHECK_IDLE = 6  # fetch time-outs in a row after which the consumer is checked to still exist


@dataclass(frozen=True)
class Tuning:
    """How delivery paces itself; the settings give the defaults, tests shorten them."""

    ack_wait: float = 30.0  # a notification held by a gateway that died comes back after this
    max_in_flight: int = 256
    per_group: int = 16
    concurrency: int = 4  # chat calls at once
    dead_letter_after: float = 24 * 3600.0
    backfill: float = 3600.0
    backoff: Backoff = field(default_factory=lambda: Backoff(1.0, 30.0))
    stall_backoff: Backoff = field(default_factory=lambda: Backoff(2.0, 60.0))
    fetch_timeout: float = 5.0
    lease: float = 0.0  # how long another gateway's claim on a group is respected; 0: ack_wait

    def __post_init__(self) -> None:
        if self.max_in_flight < 1 or self.per_group < 1 or self.concurrency < 1:
            raise ValueError("max_in_flight, per_group and concurrency must be at least 1")
        if self.dead_letter_after <= 0 or self.ack_wait <= 0 or self.backfill < 0:
            raise ValueError("dead_letter_after and ack_wait must be positive, backfill not negative")

    @property
    def claim_lease(self) -> float:
        return self.lease or self.ack_wait


def consumer_config(
    tuning: Tuning, now: datetime | None = None, *, everything: bool = False
) -> ConsumerConfig:
    """The durable of a new delivery: up to max_in_flight handed out at once, starting `backfill` back
    (or at the stream's start with `everything`: a stream made since we last consumed it).

    `ack_wait` bounds how long an alert held by a gateway that died waits for redelivery;
    in-progress acks extend it while a live gateway works on it.
    """
    config = ConsumerConfig(
        durable_name=ALERTS_DELIVERY_DURABLE,
        description="posts alert notifications to chat",
        deliver_policy=DeliverPolicy.NEW,
        ack_policy=AckPolicy.EXPLICIT,
        ack_wait=tuning.ack_wait,
        max_ack_pending=tuning.max_in_flight,
        max_deliver=-1,
        filter_subject=f"{ALERTS_PREFIX}.>",
    )
    if everything:
        config.deliver_policy = DeliverPolicy.ALL
    elif tuning.backfill > 0:
        config.deliver_policy = DeliverPolicy.BY_START_TIME
        config.opt_start_time = (now or datetime.now(UTC)) - timedelta(seconds=tuning.backfill)
    return config


async def ensure_consumer(js: JetStreamContext, tuning: Tuning, consumed_since: float | None = None) -> str:
    """Create the durable, or bring an existing one's ack_wait and max_ack_pending to `tuning`
    (its start is kept: it has a place in the stream already). Returns what it did.

    `consumed_since` (unix time): when this gateway last had a consumer on the stream. A stream
    created after that was deleted and made again, and every notification in it is new to us.
    """
    try:
        info = await js.consumer_info(ALERTS_STREAM, ALERTS_DELIVERY_DURABLE)
    except NotFoundError:
        stream = await js.stream_info(ALERTS_STREAM)
        created = stream.created.timestamp() if stream.created is not None else 0.0
        everything = consumed_since is not None and created >= consumed_since
        await js.add_consumer(ALERTS_STREAM, consumer_config(tuning, everything=everything))
        return "created from the stream's start" if everything else "created"
    have = info.config
    if (have.ack_wait, have.max_ack_pending) == (tuning.ack_wait, tuning.max_in_flight):
        return "kept"
    await js.add_consumer(
        ALERTS_STREAM, replace(have, ack_wait=tuning.ack_wait, max_ack_pending=tuning.max_in_flight)
    )
    return "updated"


@dataclass
class Held:
    """A notification handed to this gateway and not yet acked."""

    msg: Msg
    seq: int
    stored: float  # unix time it was stored in the stream
    work: Work | None  # None: it could not be read
    problem: str = ""
    attempts: int = 0


class AlertDelivery:
    """A durable pull consumer on CHATOPS_ALERTS that shows notifications through `chat`.

    `oncall` is the default channel, `routes` send groups elsewhere by label.
    """

    def __init__(
        self,
        *,
        nc: Client,
        chat: TaggedChat,
        oncall: str,
        routes: tuple[Route, ...] = (),
        tuning: Tuning | None = None,
        limits: Limits | None = None,
        metrics: GatewayMetrics | None = None,
        after_post: AfterPost | None = None,
        viewer: Viewer | None = None,
    ) -> None:
        self.nc, self.chat, self.channel, self.routes = nc, chat, oncall, routes
        self.viewer = viewer
        self.tuning = tuning or Tuning()
        self.limits = limits or Limits()
        self.metrics = metrics
        self.after_post = after_post
        self.owner = process_id()
        self.stalls = Stalls(self.tuning.stall_backoff)
        if metrics is not None:
            metrics.alert_stalls.follow(self.stalls.snapshot)
        self._js: JetStreamContext | None = None
        self._poster: Poster | None = None
        self._task: asyncio.Task[None] | None = None
        self._beat: asyncio.Task[None] | None = None
        self._stopping = False
        self._slots = asyncio.Semaphore(self.tuning.concurrency)
        self._held: dict[int, Held] = {}
        self._queues: dict[str, list[Held]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._targets: Counter[str] = Counter()
        self._room = asyncio.Event()
        self._busy = 0
        self._idle = asyncio.Event()  # set when no chat call is under way (stop waits for it)
        self._ready = asyncio.Event()
        self._naks: set[asyncio.Task[None]] = set()
        self._consumed_since: float | None = None  # when our consumer was last seen to exist

    # -- lifecycle --------------------------------------------------------------------------------
    async def start(self) -> None:
        """Start consuming in the background; waits for the bus itself, so it never blocks start-up."""
        if not self.channel and not self.routes:
            log.warning("alerts.delivery_off", reason="SLACK_ONCALL_CHANNEL is not set")
            return
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._run(), name="alert-delivery")
            self._beat = asyncio.create_task(self._heartbeat(), name="alert-delivery-beat")

    async def ready(self, timeout: float = 30.0) -> None:
        """Wait until the consumer exists and is subscribed to (tests; TimeoutError otherwise)."""
        await asyncio.wait_for(self._ready.wait(), timeout)

    def problem(self) -> str:
        """What /healthz says about delivery: the stalls in force ("" when there is none)."""
        return self.stalls.problem()

    async def stop(self) -> None:
        """Stop taking notifications, let chat calls under way finish, hand the rest back at once."""
        self._stopping = True
        for task in (self._task, self._beat):
            if task is not None:
                # nats-py may turn a cancelled request into a TimeoutError; the flag ends the loop anyway.
                task.cancel()
                await asyncio.wait({task}, timeout=STOP_GRACE)
        self._task = self._beat = None
        if self._busy:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._idle.wait(), STOP_GRACE)
        workers = list(self._workers.values())
        for worker in workers:
            worker.cancel()
        if workers:
            await asyncio.wait(workers, timeout=STOP_GRACE)
        for held in list(self._held.values()):
            with contextlib.suppress(Exception):
                await held.msg.nak()  # another gateway takes it now rather than after ack_wait
        self._held.clear()
        self._queues.clear()
        self._workers.clear()
        self._targets.clear()

    async def _subscribe(self) -> JetStreamContext.PullSubscription:
        """Until the bus is there (never crashing the gateway), or until stopped."""
        return await retried(self._subscribe_once, event="alerts.subscribe_retry", going=self._going)

    def _going(self) -> bool:
        return not self._stopping

    async def _subscribe_once(self) -> JetStreamContext.PullSubscription:
        js = self.nc.jetstream()
        await ensure(js, [ALERTS_STREAM, kv_stream(KV_ALERT_MESSAGES), DEADLETTER_STREAM])
        store = MessageStore(await js.key_value(KV_ALERT_MESSAGES))
        self._poster = Poster(
            chat=self.chat,
            store=store,
            owner=self.owner,
            lease=self.tuning.claim_lease,
            limits=self.limits,
            on_plain=self._count_plain,
            after_post=self.after_post,
            viewer=self.viewer,
            shown=lambda record: shown_notification(js, record),
        )
        self._js = js
        did = await ensure_consumer(js, self.tuning, self._consumed_since)
        self._consumed_since = time.time()
        sub = await js.pull_subscribe(
            f"{ALERTS_PREFIX}.>", durable=ALERTS_DELIVERY_DURABLE, stream=ALERTS_STREAM
        )
        log.info("alerts.delivery_started", durable=ALERTS_DELIVERY_DURABLE, consumer=did)
        self._ready.set()
        return sub

    async def _consumer_gone(self) -> bool:
        """Whether the durable (or its stream) no longer exists; False when the bus cannot say."""
        if self._js is None:
            return False
        try:
            await self._js.consumer_info(ALERTS_STREAM, ALERTS_DELIVERY_DURABLE)
        except NotFoundError:
            return True
        except Exception:
            return False
        return False

    async def _run(self) -> None:
        sub = await self._subscribe()
        idle = 0
        try:
            while not self._stopping:
                room = self.tuning.max_in_flight - len(self._held)
                if room <= 0:
                    self._room.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._room.wait(), self.tuning.fetch_timeout)
                    continue
                try:
                    msgs = await sub.fetch(min(room, BATCH), timeout=self.tuning.fetch_timeout)
                    if not msgs:
                        raise NatsTimeoutError
                except (NatsTimeoutError, TimeoutError):
                    idle += 1
                    if idle % CHECK_IDLE == 0:
                        if await self._consumer_gone():
                            sub = await self._resubscribe(sub)
                        else:
                            self._consumed_since = time.time()
                    continue
                except Exception as exc:  # disconnected, or the consumer or stream is gone
                    log.warning("alerts.fetch_failed", error=f"{type(exc).__name__}: {exc}")
                    if await self._consumer_gone():
                        sub = await self._resubscribe(sub)
                    else:
                        await asyncio.sleep(1.0)
                    continue
                idle = 0
                self._consumed_since = time.time()
                for msg in msgs:
                    self._accept(msg)
        finally:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    async def _resubscribe(self, old: JetStreamContext.PullSubscription) -> JetStreamContext.PullSubscription:
        log.warning("alerts.consumer_gone", durable=ALERTS_DELIVERY_DURABLE, stream=ALERTS_STREAM)
        with contextlib.suppress(Exception):
            await old.unsubscribe()
        return await self._subscribe()

    async def _heartbeat(self) -> None:
        """In-progress acks for every notification held, so none is redelivered while it waits here."""
        every = max(0.5, self.tuning.ack_wait / 3)
        while True:
            await asyncio.sleep(every)
            for held in list(self._held.values()):
                with contextlib.suppress(Exception):
                    await held.msg.in_progress()

    # -- taking notifications in ------------------------------------------------------------------
    def _accept(self, msg: Msg) -> None:
        meta = msg.metadata
        seq = int(meta.sequence.stream)
        if seq in self._held:
            self._held[seq].msg = msg  # handed out again (in-progress acks were lost): ack this delivery
            return
        stored = meta.timestamp.timestamp() if meta.timestamp is not None else time.time()
        try:
            note = codec.decode(msg.data, AlertNotification)
        except CodecError as exc:
            held = Held(msg, seq, stored, None, problem=str(exc))
            self._enqueue(f"undecodable:{seq}", held, "")
            return
        ref = group_ref(note.group_key)
        queue = self._queues.get(ref, [])
        if len(queue) >= self.tuning.per_group:
            task = asyncio.ensure_future(self._later(msg))
            self._naks.add(task)
            task.add_done_callback(self._naks.discard)
            return
        channel = channel_for(note.common_labels, self.routes, self.channel)
        work = Work(note, ref, mark_of(note, int(stored * 1e9)), seq, channel)
        self._enqueue(ref, Held(msg, seq, stored, work), channel)

    async def _later(self, msg: Msg) -> None:
        with contextlib.suppress(Exception):
            await msg.nak(delay=self.tuning.ack_wait / 3)

    def _enqueue(self, ref: str, held: Held, channel: str) -> None:
        queue = self._queues.setdefault(ref, [])
        queue.append(held)
        if held.work is not None:
            queue.sort(key=lambda h: h.work.mark if h.work is not None else (0, ""))
        self._held[held.seq] = held
        self._targets[channel] += 1
        if ref not in self._workers:
            self._workers[ref] = asyncio.create_task(self._group(ref), name=f"alert-group-{ref[:8]}")

    def _release(self, held: Held) -> None:
        self._held.pop(held.seq, None)
        channel = held.work.channel if held.work is not None else ""
        self._targets[channel] -= 1
        if self._targets[channel] <= 0:
            del self._targets[channel]
            self.stalls.drop(channel)  # nothing waits for that channel now
        if not self._held:
            self.stalls.drop(EVERYWHERE)
        self._room.set()

    # -- one group --------------------------------------------------------------------------------
    async def _group(self, ref: str) -> None:
        queue = self._queues[ref]
        try:
            while queue and not self._stopping:
                held = queue[0]
                try:
                    await self._deliver(held)
                except Exception:  # a bug must not leave the group stuck behind in-progress acks
                    log.exception("alerts.group_failed", seq=held.seq)
                    with contextlib.suppress(Exception):
                        await held.msg.nak(delay=self.tuning.backoff.most)
                if self._stopping:
                    return
                queue.remove(held)
                self._release(held)
        finally:
            self._workers.pop(ref, None)
            if not queue:
                self._queues.pop(ref, None)

    async def _deliver(self, held: Held) -> None:
        """Show it, retrying in place, until it is shown, superseded or given up on."""
        while not self._stopping:
            if held.work is None:
                await self._dead(held, "undecodable", f"not an AlertNotification: {held.problem}")
                return
            channel = held.work.channel
            left = held.stored + self.tuning.dead_letter_after - time.time()
            stall = await self.stalls.admit(channel, until=time.monotonic() + max(0.0, left))
            if stall is not None:
                await self._dead(
                    held,
                    stall.error,
                    f"{stall.reason} (not delivered within {_span(self.tuning.dead_letter_after)})",
                )
                return
            held.attempts += 1
            self._busy += 1
            self._idle.clear()
            try:
                assert self._poster is not None
                async with self._slots:
                    outcome = await self._poster.show(held.work)
                    await held.msg.ack()
            except GroupBusy as busy:
                self.stalls.released(channel)
                held.attempts -= 1
                await asyncio.sleep(busy.wait)
                continue
            except Exception as exc:
                if await self._failed(held, exc):
                    return
                continue
            finally:
                self._busy -= 1
                if not self._busy:
                    self._idle.set()
            self.stalls.cleared(channel)
            log.info("alerts.delivered", seq=held.seq, outcome=outcome, attempts=held.attempts)
            return

    async def _failed(self, held: Held, exc: Exception) -> bool:
        """Handle a failed attempt; True when the notification is done with (dead-lettered)."""
        assert held.work is not None
        channel = held.work.channel
        verdict = classify(exc, held.attempts, channel, self.tuning.backoff)
        if isinstance(verdict, GiveUp):
            self.stalls.released(channel)
            await self._dead(held, verdict.error, verdict.reason)
            return True
        if isinstance(verdict, Stall):
            stalled = self.stalls.failed(verdict)
            log.warning(
                "alerts.retry",
                seq=held.seq,
                attempt=held.attempts,
                stalled=verdict.scope,
                delay=stalled.backoff,
                reason=verdict.reason,
            )
            return False
        self.stalls.released(channel)
        log.warning(
            "alerts.retry", seq=held.seq, attempt=held.attempts, delay=verdict.delay, reason=verdict.reason
        )
        if not verdict.paced and time.time() - held.stored > self.tuning.dead_letter_after:
            await self._dead(
                held,
                verdict.reason.split(":")[0],
                f"not delivered within {_span(self.tuning.dead_letter_after)}: {verdict.reason}",
            )
            return True
        await asyncio.sleep(verdict.delay)
        return False

    async def _dead(self, held: Held, error: str, reason: str) -> None:
        """Put it on CHATOPS_DEADLETTER with the reason, then ack it; retried while the bus is away."""
        letter = Letter(
            msg=held.msg,
            seq=held.seq,
            stored=held.stored,
            note=held.work.note if held.work is not None else None,
            channel=held.work.channel if held.work is not None else "",
            error=error,
            reason=reason,
            attempts=held.attempts,
        )
        delay = 0.5
        while not self._stopping:
            try:
                assert self._js is not None
                await publish_dead_letter(self._js, letter)
                await held.msg.ack()
            except Exception as exc:
                log.warning("alerts.dead_letter_retry", seq=held.seq, error=f"{type(exc).__name__}: {exc}")
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
                continue
            if self.metrics is not None:
                self.metrics.alerts_dead_lettered.labels(error).inc()
            log.error("alerts.dead_lettered", seq=held.seq, error=error, reason=reason)
            return

    def _count_plain(self, error: str) -> None:
        if self.metrics is not None:
            self.metrics.alerts_plain.labels(error).inc()


def _span(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:g}h"
    if seconds >= 60:
        return f"{seconds / 60:g}m"
    return f"{seconds:g}s"
