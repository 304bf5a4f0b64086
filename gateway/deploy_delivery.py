"""Deploy events to chat: one message per deploy in the on-call channel, and the asker's thread message,
both updated in place as the deploy goes on. Any gateway replica can do it: where each message is
lives in the KV bucket chatops_deploy_messages."""

from __future__ import annotations

import asyncio
import contextlib
import re

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.client import JetStreamContext
from nats.js.errors import KeyNotFoundError
from nats.js.kv import KeyValue

from chatops import codec, logs
from chatops.codec import CodecError
from chatops.lifecycle import retried
from chatops.streams import ensure, kv_stream
from chatops.subjects import DEPLOYS_DELIVERY_DURABLE, DEPLOYS_PREFIX, DEPLOYS_STREAM, KV_DEPLOY_MESSAGES
from chatops.v1 import deploys_pb2 as pb
from gateway.render.deploys import card
from gateway.render.doc import Mention, Text
from gateway.render.slack import SlackMessage, to_slack
from gateway.slack.blocks import resolved_message
from gateway.slack.chat import Chat, ChatError, Failure

log = logs.get_logger(__name__)
STOP_GRACE = 15.0
MAX_ATTEMPTS = 5  # a message that keeps failing is dropped after this many tries, never blocks the rest
_KEY_SAFE = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


def consumer_config(ack_wait: float) -> ConsumerConfig:
    """One event at a time, so a deploy's messages are updated in the order of its steps."""
    return ConsumerConfig(
        durable_name=DEPLOYS_DELIVERY_DURABLE,
        description="shows deploy steps in chat",
        deliver_policy=DeliverPolicy.NEW,
        ack_policy=AckPolicy.EXPLICIT,
        ack_wait=ack_wait,
        max_ack_pending=1,
        max_deliver=-1,
        filter_subject=f"{DEPLOYS_PREFIX}.>",
    )


def oncall_key(deploy_id: str) -> str | None:
    return f"oncall.{deploy_id}" if _KEY_SAFE.match(deploy_id) else None


def thread_key(request_id: str) -> str | None:
    return f"thread.{request_id}" if _KEY_SAFE.match(request_id) else None


class DeployMessages:
    """Where each deploy is shown: `oncall.<deploy id>` and `thread.<request id>` -> DeployMessage."""

    def __init__(self, kv: KeyValue) -> None:
        self.kv = kv

    async def get(self, key: str | None) -> pb.DeployMessage | None:
        if key is None:
            return None
        try:
            entry = await self.kv.get(key)
        except KeyNotFoundError:
            return None
        return pb.DeployMessage.FromString(entry.value) if entry.value else None

    async def put(self, key: str | None, record: pb.DeployMessage) -> None:
        if key is not None:
            await self.kv.put(key, record.SerializeToString())


async def remember_thread(kv: KeyValue, request_id: str, channel: str, ts: str, who: str, note: str) -> None:
    """Before a deploy command is sent: its steps will update this message (the confirmed question)."""
    record = pb.DeployMessage(channel=channel, ts=ts, note=note, confirmed_by=who)
    await DeployMessages(kv).put(thread_key(request_id), record)


def thread_note(where: pb.DeployMessage) -> Text:
    """The line above the deploy in the asker's thread: who confirmed it (a mention) and what."""
    if not where.confirmed_by:
        return where.note  # written by an older gateway: shown as the data it is
    return ("Confirmed by ", Mention(where.confirmed_by), f": {where.note}")


class DeployDelivery:
    """A durable pull consumer on CHATOPS_DEPLOYS that keeps each deploy's chat messages current."""

    def __init__(
        self,
        *,
        nc: Client,
        chat: Chat,
        oncall_channel: str,
        ack_wait: float = 30.0,
        fetch_timeout: float = 5.0,
    ) -> None:
        self.nc, self.chat, self.oncall = nc, chat, oncall_channel
        self.ack_wait, self.fetch_timeout = ack_wait, fetch_timeout
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._messages: DeployMessages | None = None

    async def start(self) -> None:
        """Consume in the background; it waits for the bus by itself, so it never blocks start-up."""
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._run(), name="deploy-delivery")

    async def stop(self) -> None:
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait({self._task}, timeout=STOP_GRACE)
            self._task = None

    async def _subscribe(self) -> JetStreamContext.PullSubscription:
        """Until the bus is there (never crashing the gateway), or until stopped."""
        return await retried(self._subscribe_once, event="deploys.subscribe_retry", going=self._going)

    def _going(self) -> bool:
        return not self._stopping

    async def _subscribe_once(self) -> JetStreamContext.PullSubscription:
        js = self.nc.jetstream()
        await ensure(js, [DEPLOYS_STREAM, kv_stream(KV_DEPLOY_MESSAGES)])
        self._messages = DeployMessages(await js.key_value(KV_DEPLOY_MESSAGES))
        await js.add_consumer(DEPLOYS_STREAM, consumer_config(self.ack_wait))
        sub = await js.pull_subscribe(
            f"{DEPLOYS_PREFIX}.>", durable=DEPLOYS_DELIVERY_DURABLE, stream=DEPLOYS_STREAM
        )
        log.info("deploys.delivery_started", durable=DEPLOYS_DELIVERY_DURABLE)
        return sub

    async def _run(self) -> None:
        sub = await self._subscribe()
        try:
            while not self._stopping:
                try:
                    msgs = await sub.fetch(1, timeout=self.fetch_timeout)
                except NatsTimeoutError:
                    continue
                except Exception as exc:
                    log.warning("deploys.fetch_failed", error=f"{type(exc).__name__}: {exc}")
                    await asyncio.sleep(1.0)
                    continue
                for msg in msgs:
                    # Shielded: a stop lets the message in hand finish, so it is not shown twice.
                    with contextlib.suppress(Exception):
                        await asyncio.shield(self.handle(msg))
        finally:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    async def handle(self, msg: Msg) -> None:
        """Show one event, then ack; a failure is retried a few times with a delay, then dropped."""
        try:
            event = codec.decode(msg.data, pb.DeployEvent)
        except CodecError as exc:
            log.error("deploys.undecodable", error=str(exc))
            await msg.term()
            return
        try:
            await self.show(event)
        except Exception as exc:
            attempt = msg.metadata.num_delivered
            log.warning(
                "deploys.show_failed",
                deploy=event.deploy_id,
                attempt=attempt,
                error=f"{type(exc).__name__}: {exc}",
            )
            if attempt >= MAX_ATTEMPTS:
                await msg.term()
            else:
                wait = exc.retry_after if isinstance(exc, ChatError) and exc.retry_after else 2.0**attempt
                await msg.nak(delay=min(wait, 30.0))
            return
        await msg.ack()

    async def _updated(self, where: pb.DeployMessage, message: SlackMessage) -> bool:
        """Update the message in place; False when it is gone (other failures are raised, to retry)."""
        try:
            await self.chat.update(where.channel, where.ts, message)
        except ChatError as exc:
            if exc.failure != Failure.GONE:
                raise
            log.warning("deploys.message_gone", channel=where.channel, ts=where.ts, error=exc.detail)
            return False
        return True

    async def show(self, event: pb.DeployEvent) -> None:
        """Post or update the on-call message of the deploy, and update the asker's thread message."""
        assert self._messages is not None
        message = to_slack(card(event))
        if self.oncall:
            key = oncall_key(event.deploy_id)
            known = await self._messages.get(key)
            if known is not None and not await self._updated(known, message):
                known = None  # deleted or too old to edit: the deploy gets a fresh message
            if known is None:
                posted = await self.chat.post(self.oncall, message)
                await self._messages.put(key, pb.DeployMessage(channel=posted.channel, ts=posted.ts))
        thread = await self._messages.get(thread_key(event.request_id))
        if thread is not None:
            await self._updated(thread, resolved_message(thread_note(thread), card(event)))
        log.info("deploys.shown", deploy=event.deploy_id, step=event.step, thread=thread is not None)
