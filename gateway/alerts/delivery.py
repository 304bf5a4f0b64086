"""Delivery of CHATOPS_ALERTS to chat: one message per group, updated in place, acked after the chat."""

from __future__ import annotations

import asyncio
import contextlib

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.client import JetStreamContext

from chatops import codec, logs
from chatops.codec import CodecError
from chatops.streams import ensure, kv_stream
from chatops.subjects import ALERTS_DELIVERY_DURABLE, ALERTS_PREFIX, ALERTS_STREAM, KV_ALERT_MESSAGES
from chatops.v1.events_pb2 import AlertNotification
from chatops.v1.records_pb2 import AlertMessageRecord
from gateway.alerts.failures import GiveUp, classify
from gateway.alerts.graphs import AlertGraphs
from gateway.alerts.render import Limits, alert_doc, all_resolved, update_reply
from gateway.alerts.routing import Route, channel_for
from gateway.alerts.store import MessageStore, applied, group_ref, live_silence, replied
from gateway.render.slack import SlackMessage, to_slack
from gateway.slack.chat import Chat, ChatError, Failure

log = logs.get_logger(__name__)

# How long stop() lets the message in hand finish.
STOP_GRACE = 15.0


def consumer_config(ack_wait: float) -> ConsumerConfig:
    """One message in flight at a time, so every group's notifications reach chat in order.

    `ack_wait` bounds how long an alert held by a gateway that died waits for redelivery;
    in_progress() extends it while a live gateway works on a slow Slack call.
    """
    return ConsumerConfig(
        durable_name=ALERTS_DELIVERY_DURABLE,
        description="posts alert notifications to chat",
        deliver_policy=DeliverPolicy.ALL,
        ack_policy=AckPolicy.EXPLICIT,
        ack_wait=ack_wait,
        max_ack_pending=1,
        max_deliver=-1,
        filter_subject=f"{ALERTS_PREFIX}.>",
    )


class AlertDelivery:
    """A durable pull consumer on CHATOPS_ALERTS that posts and updates messages through `chat`.

    `oncall` is the default channel, `routes` send groups elsewhere by label, `ack_wait` is
    ALERTS_ACK_WAIT (see consumer_config).
    """

    def __init__(
        self,
        *,
        nc: Client,
        chat: Chat,
        oncall: str,
        routes: tuple[Route, ...] = (),
        ack_wait: float = 30.0,
        limits: Limits | None = None,
        fetch_timeout: float = 5.0,
        graphs: AlertGraphs | None = None,
    ) -> None:
        self.nc = nc
        self.chat = chat
        self.channel = oncall
        self.ack_wait = ack_wait
        self.routes = routes
        self.limits = limits or Limits()
        self.fetch_timeout = fetch_timeout
        self.graphs = graphs
        self._task: asyncio.Task[None] | None = None
        self._current: asyncio.Future[None] | None = None
        self._stopping = False
        self._store: MessageStore | None = None

    async def start(self) -> None:
        """Start consuming in the background; waits for the bus itself, so it never blocks start-up."""
        if not self.channel and not self.routes:
            log.warning("alerts.delivery_off", reason="SLACK_ONCALL_CHANNEL is not set")
            return
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._run(), name="alert-delivery")

    async def stop(self) -> None:
        """Stop after the message in hand; the durable consumer keeps our place for the next start."""
        self._stopping = True
        if self._task is not None:
            # nats-py may turn a cancelled request into a TimeoutError, which the loops retry; the
            # flag ends them either way.
            self._task.cancel()
            await asyncio.wait({self._task}, timeout=STOP_GRACE)
            self._task = None
        # A message half delivered (posted, not yet recorded) would be posted again by the next
        # consumer; let it finish, within reason.
        if self._current is not None and not self._current.done():
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(self._current, STOP_GRACE)

    async def _subscribe(self) -> JetStreamContext.PullSubscription:
        delay = 0.5
        while not self._stopping:
            try:
                js = self.nc.jetstream()
                await ensure(js, [ALERTS_STREAM, kv_stream(KV_ALERT_MESSAGES)])
                self._store = MessageStore(await js.key_value(KV_ALERT_MESSAGES))
                # Create the durable, or update it when ALERTS_ACK_WAIT changed since it was made.
                await js.add_consumer(ALERTS_STREAM, consumer_config(self.ack_wait))
                sub = await js.pull_subscribe(
                    f"{ALERTS_PREFIX}.>",
                    durable=ALERTS_DELIVERY_DURABLE,
                    stream=ALERTS_STREAM,
                )
                log.info("alerts.delivery_started", durable=ALERTS_DELIVERY_DURABLE)
                return sub
            except Exception as exc:  # the bus is not there yet: keep trying, never crash the gateway
                log.warning("alerts.subscribe_retry", error=f"{type(exc).__name__}: {exc}", delay=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
        raise asyncio.CancelledError

    async def _run(self) -> None:
        sub = await self._subscribe()
        try:
            while not self._stopping:
                try:
                    msgs = await sub.fetch(1, timeout=self.fetch_timeout)
                except NatsTimeoutError:
                    continue
                except Exception as exc:  # disconnected or the consumer is gone: wait and ask again
                    log.warning("alerts.fetch_failed", error=f"{type(exc).__name__}: {exc}")
                    await asyncio.sleep(1.0)
                    continue
                for msg in msgs:
                    if self._stopping:
                        # Hand it back at once rather than after ACK_WAIT.
                        with contextlib.suppress(Exception):
                            await msg.nak()
                        break
                    self._current = asyncio.ensure_future(self.handle(msg))
                    try:
                        await asyncio.shield(self._current)
                    except Exception as exc:  # e.g. the ack/nak could not be sent: it comes again
                        log.warning("alerts.handle_failed", error=f"{type(exc).__name__}: {exc}")
        finally:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    async def handle(self, msg: Msg) -> None:
        """Deliver one bus message, then ack it; on failure NAK with a delay or, if hopeless, terminate."""
        meta = msg.metadata
        seq, attempt = meta.sequence.stream, meta.num_delivered
        try:
            note = codec.decode(msg.data, AlertNotification)
        except CodecError as exc:
            log.error("alerts.undecodable", seq=seq, error=str(exc))
            await msg.term()
            return
        try:
            await self._deliver(note, seq, msg)
        except Exception as exc:
            outcome = classify(exc, attempt)
            if isinstance(outcome, GiveUp):
                log.error("alerts.dropped", seq=seq, group_key=note.group_key, error=outcome.error)
                await msg.term()
            else:
                log.warning(
                    "alerts.retry", seq=seq, attempt=attempt, delay=outcome.delay, reason=outcome.reason
                )
                await msg.nak(delay=outcome.delay)
            return
        await msg.ack()

    def _message(self, note: AlertNotification, ref: str, record: AlertMessageRecord | None) -> SlackMessage:
        silence = live_silence(record) if record is not None else None
        return to_slack(alert_doc(note, ref=ref, silence=silence, limits=self.limits))

    async def _deliver(self, note: AlertNotification, seq: int, msg: Msg) -> None:
        assert self._store is not None
        store = self._store
        ref = group_ref(note.group_key)
        record = await store.get(ref)
        if record is not None and record.replied_seq >= seq:
            log.info("alerts.already_delivered", seq=seq, ts=record.ts)
            return
        # A group that fires again after it was resolved gets a new message: the old one is history.
        if record is None or (record.applied_seq < seq and record.resolved and note.status == "firing"):
            await self._post(note, seq, ref, msg)
            return
        if record.applied_seq < seq:
            await msg.in_progress()
            try:
                await self.chat.update(record.channel, record.ts, self._message(note, ref, record))
            except ChatError as exc:
                if exc.failure is not Failure.GONE:
                    raise
                log.warning("alerts.message_gone", seq=seq, ts=record.ts, error=exc.detail)
                await self._post(note, seq, ref, msg)
                return
            record = await store.modify(
                ref, lambda r: applied(r, seq, all_resolved(note), note.common_labels)
            )
            log.info("alerts.updated", seq=seq, group_key=note.group_key, status=note.status)
        if record is not None and record.replied_seq < seq:
            await msg.in_progress()
            await self.chat.post(record.channel, to_slack(update_reply(note)), thread_ts=record.ts)
            await store.modify(ref, lambda r: replied(r, seq))

    async def _post(self, note: AlertNotification, seq: int, ref: str, msg: Msg) -> None:
        assert self._store is not None
        channel = channel_for(note.common_labels, self.routes, self.channel)
        await msg.in_progress()
        posted = await self.chat.post(channel, self._message(note, ref, None))
        record = AlertMessageRecord(
            channel=posted.channel,
            ts=posted.ts,
            group_key=note.group_key,
            applied_seq=seq,
            replied_seq=seq,
            resolved=all_resolved(note),
            labels=dict(note.common_labels),
        )
        # Written before the ack, so a redelivery finds it and does not post twice; a bus blip here
        # must not turn into a second post, hence the patient retry.
        for attempt in range(20):
            try:
                await self._store.put(ref, record)
                break
            except Exception as exc:
                if attempt == 19:
                    raise
                log.warning("alerts.record_retry", error=f"{type(exc).__name__}: {exc}")
                await asyncio.sleep(0.5)
        log.info("alerts.posted", seq=seq, group_key=note.group_key, channel=record.channel, ts=record.ts)
        if self.graphs is not None:
            # Only once the message is posted and recorded; queued, so delivery never waits for it.
            self.graphs.after_post(note, record.channel, record.ts)
