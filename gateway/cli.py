"""`chatops gateway`: the Slack gateway process, wired explicitly and stopped cleanly on SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import Callable
from contextlib import AsyncExitStack
from datetime import timedelta

from nats.aio.client import Client
from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from chatops import health, logs, redact
from chatops.bus import connect, jetstream
from chatops.lease import Leader, process_id
from chatops.lifecycle import stop_on_signals
from chatops.settings import load_settings
from chatops.streams import Limits, ProvisionError, ensure, kv_stream
from chatops.subjects import (
    CARDS_STREAM,
    KV_ALERT_MESSAGES,
    KV_CONFIRMATIONS,
    KV_DEPLOY_MESSAGES,
    KV_JOURNAL,
    KV_LEASES,
    KV_SEEN_EVENTS,
)
from chatops.v1 import audit_pb2
from gateway import audit
from gateway.alerts import AlertDelivery, AlertGraphs, AlertSilencer
from gateway.alerts.actions import AlertAcker
from gateway.alerts.backlog import BacklogWatch
from gateway.alerts.book import CardBook
from gateway.alerts.delivery import Tuning
from gateway.alerts.notes import CardNotes, NoteTimes
from gateway.alerts.poster import Poster
from gateway.alerts.refresher import Refresher
from gateway.alerts.render import ACK, SILENCE_HOURS, UNACK
from gateway.alerts.routing import RouteError, parse_routes
from gateway.alerts.store import MessageStore
from gateway.confirmations import Confirmations
from gateway.deploy_delivery import DeployDelivery, remember_thread
from gateway.flow import bus_asker
from gateway.journal import Journal
from gateway.metrics import GatewayMetrics
from gateway.recovery import Recovery
from gateway.seen import SeenEvents
from gateway.settings import GatewaySettings
from gateway.slack.admission import admission
from gateway.slack.app import ClickHandler, InFlight, build_app, register, serving, slack_client
from gateway.slack.blocks import CANCEL, CONFIRM
from gateway.slack.chat import SlackChat, TaggedChat
from gateway.slack.handlers import SlackGateway
from gateway.slack.pacing import Pacer, Priority

log = logs.get_logger(__name__)
# The gateway's own state.
BUCKETS = (KV_SEEN_EVENTS, KV_JOURNAL, KV_CONFIRMATIONS, KV_ALERT_MESSAGES, KV_DEPLOY_MESSAGES, KV_LEASES)
# Seconds beyond the command timeout a stopping gateway gives the commands it has to answer them.
DRAIN_MARGIN = 2.0
NOTES_LEASE = "gateway.card-notes"  # the one replica that posts re-announcements and silence notes


def main(argv: list[str]) -> int:
    """Run until SIGTERM or SIGINT."""
    argparse.ArgumentParser(
        prog="chatops gateway",
        description="Run the Slack gateway: chat commands over the bus, and alert delivery. "
        "Configured by environment variables (see gateway/settings.py).",
    ).parse_args(argv)
    settings = load_settings(GatewaySettings)
    logs.setup(settings.LOG_LEVEL, "gateway")
    try:
        asyncio.run(serve(settings))
    except (OSError, SlackApiError, RouteError, ProvisionError) as exc:
        # A port in use, Slack refusing the tokens, a bad SLACK_ALERT_ROUTES, buckets not provisioned:
        # one line, no traceback.
        log.error("gateway.start_failed", error=f"{type(exc).__name__}: {exc}")
        return 1
    return 0


async def serve(settings: GatewaySettings, stop: asyncio.Event | None = None) -> None:
    """Build every part inside one exit stack; return when `stop` is set (without one: on a signal)."""
    if stop is None:
        stop = stop_on_signals()
    routes = parse_routes(settings.SLACK_ALERT_ROUTES)
    async with AsyncExitStack() as stack:
        metrics = GatewayMetrics()
        connected: list[Client] = []  # /healthz says 503 until NATS is connected
        # …and while alert delivery is stalled (Slack refusing a channel or the token), saying why.
        # Not before every part is up: a start-up that fails half way (NATS gone) exits with an error.
        started: list[bool] = []
        problems: list[Callable[[], str]] = [
            lambda: _nats_problem(connected),
            lambda: "" if started else "starting: not every part is up yet",
        ]
        health.bus_gauge(metrics.registry, lambda: not _nats_problem(connected))
        await stack.enter_async_context(
            health.serving(
                health.metrics_app(metrics.registry, lambda: "; ".join(p() for p in problems if p())),
                settings.GATEWAY_METRICS_LISTEN,
                purpose="/metrics",
            )
        )
        nc = await _connect(settings, stop)
        if nc is None:
            return
        connected.append(nc)
        stack.push_async_callback(nc.close)
        js = jetstream(nc, settings)
        await ensure(js, [*(kv_stream(b) for b in BUCKETS), CARDS_STREAM], Limits.from_settings(settings))
        # One HTTP session for every Slack call; entered before every part that calls Slack, so it
        # closes after all of them have stopped (and the events under way have been answered).
        client = await stack.enter_async_context(slack_client(settings, metrics.slack_failed))
        app = build_app(settings, client)

        async def audit_sink(event: audit_pb2.AuditEvent) -> None:
            await audit.record(nc, event, timeout=settings.CHATOPS_COMMAND_TIMEOUT)

        deploy_messages = await js.key_value(KV_DEPLOY_MESSAGES)

        async def follow(request_id: str, channel: str, ts: str, who: str, note: str) -> None:
            await remember_thread(deploy_messages, request_id, channel, ts, who, note)

        # Every Slack call goes through one pacer: replies and alerts share each channel's pace, and a
        # person's reply goes before the alerts waiting in the same channel.
        pacer = Pacer(
            SlackChat(client),
            post_rate=settings.SLACK_POST_RATE,
            post_burst=settings.SLACK_POST_BURST,
            tier_scale=settings.SLACK_TIER_SCALE,
        )
        chat, alerts_chat = pacer.chat(Priority.PERSON), pacer.chat(Priority.ALERT)
        ask = bus_asker(nc, settings.CHATOPS_COMMAND_TIMEOUT)
        allowed = admission(
            settings.SLACK_ALLOWED_TEAMS, await own_workspace(client), settings.SLACK_ALLOWED_CHANNELS
        )
        journal = Journal(js, await js.key_value(KV_JOURNAL), process_id())
        gateway = SlackGateway(
            admission=allowed,
            chat=chat,
            ask=ask,
            seen=SeenEvents(await js.key_value(KV_SEEN_EVENTS)),
            confirmations=Confirmations(await js.key_value(KV_CONFIRMATIONS)),
            audit=audit_sink,
            admins=settings.CHATOPS_ADMINS,
            confirm_ttl=settings.CHATOPS_CONFIRM_TTL,
            metrics=metrics,
            follow=follow,
            journal=journal,
            renew_every=settings.CHATOPS_RECOVER_AFTER / 4,
        )
        # Deploy steps reach the asker's thread always, and the on-call channel when there is one.
        deploys = DeployDelivery(
            nc=nc,
            chat=alerts_chat,
            oncall_channel=settings.SLACK_ONCALL_CHANNEL,
            ack_wait=settings.ALERTS_ACK_WAIT,
        )
        await deploys.start()
        stack.push_async_callback(deploys.stop)
        clicks: dict[str, ClickHandler] = {CONFIRM: gateway.on_click, CANCEL: gateway.on_click}
        if settings.SLACK_ONCALL_CHANNEL or routes:
            book = CardBook(js, window=timedelta(seconds=settings.ALERTS_CHANGES_WINDOW))
            book.start()
            stack.push_async_callback(book.stop)
            refresher = await _cards(stack, settings, js, alerts_chat, book, metrics)
            silencer = AlertSilencer(
                js=js,
                chat=chat,
                ask=ask,
                audit=audit_sink,
                admins=settings.CHATOPS_ADMINS,
                changed=refresher.mark,
            )
            clicks.update(dict.fromkeys(SILENCE_HOURS, silencer.on_click))
            acker = AlertAcker(chat=chat, ask=ask, admission=allowed)
            clicks.update({ACK: acker.on_click, UNACK: acker.on_click})
            graphs = None
            if settings.ALERT_GRAPHS:
                graphs = AlertGraphs(chat=alerts_chat, ask=ask, registry=metrics.registry)
                graphs.start()
                stack.push_async_callback(graphs.stop)  # after delivery has stopped handing any over
            delivery = AlertDelivery(
                nc=nc,
                chat=alerts_chat,
                oncall=settings.SLACK_ONCALL_CHANNEL,
                routes=routes,
                tuning=Tuning(
                    ack_wait=settings.ALERTS_ACK_WAIT,
                    max_in_flight=settings.ALERTS_MAX_IN_FLIGHT,
                    dead_letter_after=settings.ALERTS_DEADLETTER_AFTER,
                    backfill=settings.ALERTS_BACKFILL,
                ),
                metrics=metrics,
                after_post=graphs.after_post if graphs is not None else None,
                viewer=book.view,
            )
            problems.append(delivery.problem)
            await delivery.start()
            stack.push_async_callback(delivery.stop)
            watch = BacklogWatch(js, metrics.alert_backlog)
            watch.start()
            stack.push_async_callback(watch.stop)
        inflight = InFlight()
        register(app, gateway, clicks, inflight)
        # Messages taken by a gateway that died are answered by one that runs: this one sweeps the
        # journal at start and every quarter of CHATOPS_RECOVER_AFTER.
        recovery = Recovery(
            journal,
            gateway.recover,
            gateway.give_up,
            metrics,
            stale_after=settings.CHATOPS_RECOVER_AFTER,
            interval=settings.CHATOPS_RECOVER_AFTER / 4,
        )
        recovery.start()
        # On the way out Slack is let go of first (no new events), then what it already handed over
        # is finished (a rolling restart loses no command), and only then the rest stops.
        drain = settings.CHATOPS_COMMAND_TIMEOUT + DRAIN_MARGIN
        stack.push_async_callback(inflight.drain, drain)
        stack.push_async_callback(recovery.stop, drain)  # no sweep after Slack is let go of
        await stack.enter_async_context(serving(app, settings))
        log.info(
            "gateway.ready",
            mode="socket" if settings.socket_mode else "http",
            admins=len(settings.CHATOPS_ADMINS),
            oncall=settings.SLACK_ONCALL_CHANNEL or "-",
            teams=",".join(sorted(allowed.teams)),
            channels=",".join(sorted(allowed.channels)) or "any",
        )
        started.append(True)
        await stop.wait()
        log.info("gateway.stopping")


async def _cards(
    stack: AsyncExitStack,
    settings: GatewaySettings,
    js: JetStreamContext,
    chat: TaggedChat,
    book: CardBook,
    metrics: GatewayMetrics,
) -> Refresher:
    """The cards' refresher (any replica) and thread notes (the lease holder), stopped with the stack."""
    store = MessageStore(await js.key_value(KV_ALERT_MESSAGES))
    owner, lease = process_id(), settings.ALERTS_ACK_WAIT

    def poster(role: str) -> Poster:
        # Each part claims as itself: delivery, the refresher and the notes of one process never act
        # on one card at once.
        return Poster(chat=chat, store=store, owner=f"{owner}/{role}", lease=lease)

    refresher = Refresher(
        poster=poster("card"), book=book, interval=settings.ALERTS_CARD_INTERVAL, metrics=metrics
    )
    book.on_change = refresher.mark
    stack.push_async_callback(refresher.stop)
    rebuild = asyncio.create_task(refresher.rebuild(), name="cards-rebuild")
    stack.callback(rebuild.cancel)
    waits = [w for w in (settings.ALERTS_REANNOUNCE_AFTER, settings.ALERTS_SILENCE_WARN_BEFORE) if w]
    times = NoteTimes(
        reannounce_after=settings.ALERTS_REANNOUNCE_AFTER,
        reannounce_times=settings.ALERTS_REANNOUNCE_TIMES,
        warn_before=settings.ALERTS_SILENCE_WARN_BEFORE,
        tick=min(5.0, max(0.5, min(waits, default=20.0) / 4)),
        group=settings.ONCALL_USERGROUP,
    )
    leader = Leader(await js.key_value(KV_LEASES), NOTES_LEASE, owner, lease)
    notes = CardNotes(poster=poster("notes"), book=book, leader=leader, times=times, metrics=metrics)
    notes.start()
    stack.push_async_callback(leader.stop)
    stack.push_async_callback(notes.stop)
    return refresher


async def _connect(settings: GatewaySettings, stop: asyncio.Event) -> Client | None:
    """Connect to NATS, waiting as long as it takes; None when `stop` is set first."""
    delay = 0.5
    while not stop.is_set():
        # nats-py keeps retrying a refused first connection by itself; a stop must still win.
        connecting = asyncio.ensure_future(connect(settings, "gateway"))
        stopping = asyncio.ensure_future(stop.wait())
        await asyncio.wait({connecting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if not connecting.done():
            connecting.cancel()
            with contextlib.suppress(asyncio.CancelledError, NatsError, OSError):
                await connecting
            return None
        try:
            return connecting.result()
        except (NatsError, OSError) as exc:
            log.warning(
                "gateway.nats_unreachable",
                nats=redact.urls(settings.NATS_URL),
                error=f"{type(exc).__name__}: {exc}",
                retry_in=delay,
            )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)
        delay = min(delay * 2, 5.0)
    return None


async def own_workspace(client: AsyncWebClient) -> tuple[str, ...]:
    """The bot's workspace id and, on Enterprise Grid, its org id, as auth.test says."""
    resp = await client.auth_test()
    return tuple(str(resp.get(k)) for k in ("team_id", "enterprise_id") if resp.get(k))


def _nats_problem(connected: list[Client]) -> str:
    if not connected:
        return "starting: not yet connected to NATS"
    return "" if connected[0].is_connected else "NATS connection lost; reconnecting"
