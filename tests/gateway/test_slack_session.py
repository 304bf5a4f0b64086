"""The gateway calls Slack over one kept-alive HTTP session, in both modes, and closes it when it stops.

The gateway runs in this process (`gateway.cli.serve`) against a real nats-server and the Slack
emulator, which logs the client end (`peer`) of the connection each Web API call came over.
"""

from __future__ import annotations

import asyncio
import gc
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from gateway.cli import serve
from gateway.settings import GatewaySettings
from tools.harness.components import gateway_env
from tools.harness.ports import LOOPBACK, free_port
from tools.harness.servers import NatsServer, running
from tools.harness.slackemu import SlackEmulator
from tools.harness.wait import eventually

pytestmark = pytest.mark.slow
BURST = 20  # replies, one after the other


@pytest.fixture(scope="module")
def nats(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    with running(NatsServer(tmp_path_factory.mktemp("nats"))) as server:
        yield server


class Unclosed:
    """What the event loop hears of while this is its exception handler: aiohttp reports there a
    session (or connector) collected unclosed, besides its ResourceWarning."""

    def __init__(self) -> None:
        self.reports: list[str] = []

    def _heard(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        self.reports.append(str(context.get("message")))

    @property
    def unclosed(self) -> list[str]:
        return [r for r in self.reports if r.startswith("Unclosed")]


async def _healthy(url: str) -> bool:
    async with aiohttp.ClientSession() as session, session.get(url) as resp:
        return resp.status == 200


async def _burst(settings: GatewaySettings, slack: SlackEmulator, metrics_url: str) -> list[dict[str, Any]]:
    """Start the gateway, have it answer a burst of mentions, stop it; the bot's Web API calls meanwhile."""
    stop = asyncio.Event()
    gateway = asyncio.create_task(serve(settings, stop), name="gateway")
    try:
        await eventually(lambda: _healthy(metrics_url), timeout=60, what="the gateway up and serving")
        async with slack.control() as ctl:
            user = await ctl.create_user("burst")
            channel = await ctl.create_channel("burst")
            await ctl.clear_requests()
            for _ in range(BURST):
                ts = await ctl.mention(user, channel, "help")
                reply = await ctl.wait_for_message(channel, thread_ts=ts, timeout=30)
                assert "Here is what I can do" in reply["text"]
            calls = [r for r in await ctl.requests() if r["token_kind"] == "bot"]
    finally:
        stop.set()
        await asyncio.wait_for(gateway, 60)
    return calls


@pytest.mark.parametrize("socket_mode", [True, False], ids=["socket", "events-api"])
async def test_a_burst_of_replies_shares_one_connection_and_the_session_closes(
    nats: NatsServer, tmp_path: Path, socket_mode: bool
) -> None:
    http_port, metrics_port = free_port(), free_port()
    request_url = None if socket_mode else f"http://{LOOPBACK}:{http_port}/slack/events"
    # Fast enough for the emulator's rate limit and the gateway's pacer never to hold a reply back.
    slack = SlackEmulator(tmp_path / "slack", request_url=request_url, rate_per_sec=100, rate_burst=100)
    values = {
        **gateway_env(nats, slack, metrics_port, socket_mode=socket_mode, http_port=http_port),
        "SLACK_ONCALL_CHANNEL": "",
        "SLACK_POST_RATE": "100",
        "SLACK_POST_BURST": "100",
    }
    settings = GatewaySettings(**values)  # type: ignore[arg-type]
    unclosed = Unclosed()
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(unclosed._heard)
    try:
        with running(slack), warnings.catch_warnings(record=True) as heard:
            warnings.simplefilter("always", ResourceWarning)
            calls = await _burst(settings, slack, f"http://{LOOPBACK}:{metrics_port}/healthz")
            # Whatever the gateway let go of without closing is reported when it is collected.
            gc.collect()
    finally:
        loop.set_exception_handler(None)
    peers = {c["peer"] for c in calls}
    assert len([c for c in calls if c["method"] == "chat.postMessage"]) == BURST
    assert all(peers)
    # Before: a session, and so a connection, of its own for every call.
    assert 1 <= len(peers) <= 2, f"{len(calls)} calls came over {len(peers)} connections"
    assert not unclosed.unclosed, unclosed.reports
    assert not [w for w in heard if str(w.message).startswith("Unclosed")]
