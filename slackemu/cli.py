"""`chatops slackemu`: run the offline Slack emulator until SIGTERM or Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
from contextlib import AsyncExitStack
from pathlib import Path

from chatops import logs
from chatops.health import ListenError, serving
from chatops.lifecycle import stop_on_signals
from chatops.settings import load_settings
from slackemu import persist
from slackemu.core import Config, Emulator
from slackemu.server import build_app
from slackemu.settings import EmulatorSettings

log = logs.get_logger(__name__)


def config_from(settings: EmulatorSettings) -> Config:
    """Turn validated settings into the emulator's Config."""
    host, _, port = settings.SLACKEMU_LISTEN.rpartition(":")
    return Config(
        base_url=f"http://{host}:{port}",
        bot_token=settings.SLACKEMU_BOT_TOKEN.get_secret_value(),
        app_token=settings.SLACKEMU_APP_TOKEN.get_secret_value(),
        signing_secret=settings.SLACKEMU_SIGNING_SECRET.get_secret_value(),
        verification_token=settings.SLACKEMU_VERIFICATION_TOKEN.get_secret_value(),
        request_url=settings.SLACKEMU_REQUEST_URL,
        ack_timeout=settings.SLACKEMU_ACK_TIMEOUT,
        max_retries=settings.SLACKEMU_MAX_RETRIES,
        http_timeout=settings.SLACKEMU_HTTP_TIMEOUT,
        retry_delay=settings.SLACKEMU_RETRY_DELAY,
        rate_per_sec=settings.SLACKEMU_RATE_PER_SEC,
        rate_burst=settings.SLACKEMU_RATE_BURST,
        webhook_secret=settings.SLACKEMU_WEBHOOK_SECRET.get_secret_value(),
        webhook_channel=settings.SLACKEMU_WEBHOOK_CHANNEL,
    )


async def serve(settings: EmulatorSettings) -> None:
    """Listen until a stop signal arrives, then shut down cleanly."""
    config = config_from(settings)
    stop = stop_on_signals()
    async with AsyncExitStack() as stack:
        emulator = Emulator(config)
        if settings.SLACKEMU_STATE_FILE:
            path = Path(settings.SLACKEMU_STATE_FILE)
            kept = persist.load(path)
            if kept is not None:
                emulator = Emulator(config, workspace=kept)
            saver = persist.Saver(emulator.workspace, path)
            saver.start()
            stack.push_async_callback(saver.stop)  # the last changes are written on the way out
            log.info("slackemu.state", path=str(path), restored=kept is not None)
        app = build_app(emulator)
        await stack.enter_async_context(
            serving(app, settings.SLACKEMU_LISTEN, purpose="Slack", shutdown_timeout=2)
        )
        log.info(
            "slackemu.listening",
            url=config.base_url,
            api_url=config.base_url + "/api/",
            mode="http" if config.request_url else "socket",
        )
        if settings.SLACKEMU_EXIT_WITH_PARENT:
            watcher = asyncio.create_task(_stop_when_orphaned(stop))
            stack.callback(watcher.cancel)
        await stop.wait()
        log.info("slackemu.stopping")


async def _stop_when_orphaned(stop: asyncio.Event) -> None:
    """Set `stop` once the process that started us is gone (we get re-parented)."""
    parent = os.getppid()
    while os.getppid() == parent:  # noqa: ASYNC110 - no event exists for being re-parented
        await asyncio.sleep(1.0)
    log.warning("slackemu.parent_gone", parent=parent)
    stop.set()


def main(argv: list[str]) -> int:
    """Run the emulator; settings come from SLACKEMU_* variables."""
    argparse.ArgumentParser(
        prog="chatops slackemu",
        description="Offline Slack: Web API under /api/, Socket Mode, Events API, control API "
        "under /control/, and a web page at /. Configure with SLACKEMU_LISTEN, SLACKEMU_BOT_TOKEN, "
        "SLACKEMU_APP_TOKEN, SLACKEMU_SIGNING_SECRET, SLACKEMU_REQUEST_URL.",
    ).parse_args(argv)
    settings = load_settings(EmulatorSettings)
    logs.setup(settings.LOG_LEVEL, "slackemu")
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve(settings))
    except ListenError as exc:
        log.error("slackemu.listen_failed", error=str(exc))
        return 1
    return 0
