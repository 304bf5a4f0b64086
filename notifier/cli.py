"""`chatops notifier`: serve the Alertmanager webhook and append notifications to the bus."""

from __future__ import annotations

import argparse
import asyncio
from contextlib import AsyncExitStack

from nats.aio.client import Client

from chatops import logs, redact
from chatops.bus import connect, jetstream
from chatops.health import ListenError, serving
from chatops.lifecycle import cancelled, stop_on_signals
from chatops.settings import load_settings
from chatops.streams import Limits, ensure
from chatops.subjects import ALERTS_STREAM
from notifier.app import make_app
from notifier.metrics import NotifierMetrics
from notifier.publisher import JetStreamPublisher
from notifier.settings import NotifierSettings

log = logs.get_logger(__name__)


async def attach_bus(settings: NotifierSettings, publisher: JetStreamPublisher) -> Client:
    """Connect (retrying forever), wait for CHATOPS_ALERTS (retrying), then hand the client over."""
    nc = await connect(settings, "notifier")
    delay = 0.5
    while True:
        try:
            await ensure(jetstream(nc, settings), [ALERTS_STREAM], Limits.from_settings(settings))
            break
        except Exception as exc:  # any failure here is transient: JetStream or the stream not there yet
            log.warning("provision.retry", error=f"{type(exc).__name__}: {exc}", delay=delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)
    publisher.nc = nc
    log.info("nats.ready", url=redact.urls(settings.NATS_URL))
    return nc


async def serve(settings: NotifierSettings, stop: asyncio.Event) -> None:
    """Run until `stop` is set: the HTTP server answers 503 until the bus is attached."""
    publisher = JetStreamPublisher()
    app = make_app(
        publisher,
        token=settings.NOTIFIER_TOKEN.get_secret_value(),
        max_body=settings.NOTIFIER_MAX_BODY,
        metrics=NotifierMetrics(),
    )
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(serving(app, settings.NOTIFIER_LISTEN, purpose="webhooks"))
        log.info("notifier.listening", listen=settings.NOTIFIER_LISTEN)

        bus = asyncio.create_task(attach_bus(settings, publisher))

        async def close_bus() -> None:
            await cancelled(bus)
            if publisher.nc is not None:
                await publisher.nc.close()

        stack.push_async_callback(close_bus)
        await stop.wait()
        log.info("notifier.stopping")


def main(argv: list[str]) -> int:
    """Run the notifier until SIGTERM or SIGINT."""
    argparse.ArgumentParser(
        prog="chatops notifier",
        description="Receive Alertmanager webhooks on POST /alerts and append them to CHATOPS_ALERTS. "
        "Settings: NOTIFIER_TOKEN (required), NOTIFIER_LISTEN, NOTIFIER_MAX_BODY, NATS_URL, "
        "NATS_NKEY_SEED_FILE or NATS_CREDS, NATS_TLS_*, LOG_LEVEL.",
    ).parse_args(argv)
    settings = load_settings(NotifierSettings)
    logs.setup(settings.LOG_LEVEL, "notifier")

    async def run() -> None:
        stop = stop_on_signals()
        await serve(settings, stop)

    try:
        asyncio.run(run())
    except ListenError as exc:
        log.error("notifier.listen_failed", error=str(exc))
        return 1
    return 0
