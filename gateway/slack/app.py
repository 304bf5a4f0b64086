"""slack-bolt wiring: the AsyncApp, its listeners, and Socket Mode or HTTP serving."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, Protocol

import aiohttp
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)

from chatops import health, logs
from gateway.journal import Accepted
from gateway.settings import GatewaySettings
from gateway.slack.client import CountEventCalls, CountingWebClient, Failed
from gateway.slack.events import ButtonClick, ChatMessage, button_click, chat_message

log = logs.get_logger(__name__)
EVENTS_PATH = "/slack/events"


def build_client(settings: GatewaySettings, failed: Failed = lambda method, error: None) -> CountingWebClient:
    """The Web API client: SLACK_API_URL as base, 429s retried after Retry-After, 5xx retried.

    `failed(method, error)` hears of every call that still failed after those retries.
    """
    client = CountingWebClient(
        failed=failed, base_url=settings.SLACK_API_URL, token=settings.SLACK_BOT_TOKEN.get_secret_value()
    )
    client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=3))
    client.retry_handlers.append(AsyncServerErrorRetryHandler(max_retry_count=2))
    return client


@contextlib.asynccontextmanager
async def slack_client(
    settings: GatewaySettings, failed: Failed = lambda method, error: None
) -> AsyncIterator[CountingWebClient]:
    """`build_client`'s client over one aiohttp session, kept open until exit; made in the running loop.

    Without a session of its own slack_sdk opens one per call: a new connection (and TLS handshake) for
    every post and update. This one keeps its connections alive, so a burst of calls shares one or two.
    bolt's AsyncApp and its Socket Mode handler call through this client, or copies of it with the same
    session (each event's, counting too: see `build_app`). Close it only after everything that may call
    Slack has stopped.
    """
    client = build_client(settings, failed)
    # The total timeout slack_sdk gives the sessions it makes itself (it passes none per request).
    timeout = aiohttp.ClientTimeout(total=client.timeout)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        client.session = session
        yield client
    # A call still made after this finds the session closed, and slack_sdk opens one just for it.


class _DropTokenNotice(logging.Filter):
    # bolt reads SLACK_BOT_TOKEN from the environment by itself and then warns that our client wins.
    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


def build_app(settings: GatewaySettings, client: CountingWebClient) -> AsyncApp:
    """The bolt app; signatures are checked in HTTP mode (Socket Mode needs none). The client bolt
    makes for each event counts its failures where `client` does."""
    logging.getLogger("slack_bolt.AsyncApp").addFilter(_DropTokenNotice())
    secret = settings.SLACK_SIGNING_SECRET.get_secret_value()
    return AsyncApp(
        client=client,
        signing_secret=secret or None,
        request_verification_enabled=not settings.socket_mode,
        name="chatops-gateway",
        before_authorize=CountEventCalls(client),
    )


ClickHandler = Callable[[ButtonClick], Awaitable[None]]
ACCEPTED = "chatops_accepted"  # where the journaling middleware leaves its Accepted for the listener
HOLD = "chatops_hold"  # and the Hold that counts the message under way, which the listener releases


class Taker(Protocol):
    """Takes a message before Slack has its ack (`accept`), and answers it after (`handle`)."""

    async def accept(self, msg: ChatMessage) -> Accepted: ...

    async def handle(self, msg: ChatMessage, accepted: Accepted) -> None: ...


class Hold:
    """One event counted under way until `release()` (a second call does nothing)."""

    def __init__(self, inflight: InFlight) -> None:
        self._inflight: InFlight | None = inflight

    def release(self) -> None:
        if self._inflight is not None:
            self._inflight.released()
            self._inflight = None


class InFlight:
    """The Slack events being handled now (a message from the moment it is journaled). Slack has had
    their acks, or finds them journaled here when it sends them again, and no one else answers them,
    so a gateway that stops lets them finish (`drain`) before it lets go of NATS and Slack."""

    def __init__(self) -> None:
        self.count = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def hold(self) -> Hold:
        """Count an event under way until the Hold is released (by another task, maybe)."""
        self.count += 1
        self._idle.clear()
        return Hold(self)

    def released(self) -> None:
        """One event is no longer under way (its Hold's `release`)."""
        self.count -= 1
        if not self.count:
            self._idle.set()

    @contextlib.asynccontextmanager
    async def held(self) -> AsyncIterator[None]:
        hold = self.hold()
        try:
            yield
        finally:
            hold.release()

    async def drain(self, timeout: float) -> None:
        """Until every event under way is handled, or `timeout` seconds (then it says how many were not)."""
        if self.count:
            log.info("slack.draining", handling=self.count)
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            log.warning("slack.drain_timed_out", handling=self.count, timeout=timeout)


def register(
    app: AsyncApp,
    taker: Taker,
    clicks: Mapping[str, ClickHandler],
    inflight: InFlight | None = None,
) -> None:
    """app_mention and message.im go to `taker`; a click on a button goes to `clicks[action_id]`.

    Payloads are translated here, once (gateway.slack.events); the handlers see only the gateway's own
    values, and one crashing never takes the gateway down. `inflight` counts the handlers under way.
    A message goes to `taker.accept` in a global middleware, which bolt runs to its end before it
    acknowledges the event (Socket Mode sends the ack, and HTTP mode answers the POST, once dispatch
    returns; the listener runs after), and then to `taker.handle`.
    Such a message is under way from the middleware on: a gateway stopped while it journals one
    answers it before it lets go of NATS (Slack may have its ack, or redeliver it to a replica that
    finds it journaled and leaves it to this one), not a recovery later.
    """
    under_way = inflight or InFlight()

    async def journaling(
        body: dict[str, Any], context: AsyncBoltContext, next: Callable[[], Awaitable[None]]
    ) -> None:
        msg = chat_message(body, context.bot_user_id or "")
        if msg is not None:
            hold = context[HOLD] = under_way.hold()  # released by the listener once it is answered
            try:
                context[ACCEPTED] = await taker.accept(msg)
            except Exception:  # answered still: only not recoverable should this process die
                log.exception("slack.accept_failed", channel=msg.channel, user=msg.user)
                context[ACCEPTED] = Accepted(first=True)
            except BaseException:
                hold.release()
                raise
        await next()

    async def answer(msg: ChatMessage, accepted: object) -> None:
        try:
            if not isinstance(accepted, Accepted):  # the middleware leaves one for every message
                accepted = await taker.accept(msg)
            await taker.handle(msg, accepted)
        except Exception:
            log.exception("slack.message_crashed", channel=msg.channel, user=msg.user)

    async def on_event(body: dict[str, Any], context: AsyncBoltContext) -> None:
        held = context.get(HOLD)
        hold = held if isinstance(held, Hold) else under_way.hold()
        try:
            msg = chat_message(body, context.bot_user_id or "")
            if msg is not None:
                await answer(msg, context.get(ACCEPTED))
        finally:
            hold.release()

    async def on_click(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        click = button_click(body)
        handler = clicks.get(click.action_id) if click is not None else None
        if click is None or handler is None:
            log.warning("slack.click_ignored", payload_keys=",".join(sorted(body)))
            return
        try:
            async with under_way.held():
                await handler(click)
        except Exception:
            log.exception(
                "slack.click_crashed", action=click.action_id, channel=click.channel, user=click.user
            )

    app.middleware(journaling)
    app.event("app_mention")(on_event)
    app.event("message")(on_event)
    for action_id in clicks:
        app.action(action_id)(on_click)


@contextlib.asynccontextmanager
async def serving(app: AsyncApp, settings: GatewaySettings) -> AsyncIterator[None]:
    """Connect Socket Mode, or listen for Events API POSTs on SLACK_HTTP_LISTEN, until exit."""
    if settings.socket_mode:
        handler = AsyncSocketModeHandler(app, settings.SLACK_APP_TOKEN.get_secret_value())
        await handler.connect_async()  # type: ignore[no-untyped-call]
        log.info("slack.socket_mode_connected")
        try:
            yield
        finally:
            await handler.close_async()  # type: ignore[no-untyped-call]
        return
    async with health.serving(
        app.web_app(path=EVENTS_PATH), settings.SLACK_HTTP_LISTEN, purpose="Slack events"
    ):
        log.info("slack.http_listening", listen=settings.SLACK_HTTP_LISTEN, path=EVENTS_PATH)
        yield
