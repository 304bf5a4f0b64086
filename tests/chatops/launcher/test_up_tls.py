"""`chatops up --tls`: the whole local stack with its bus over TLS, every identity with a certificate."""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator

import pytest
from nats.aio.client import Client
from nats.errors import Error as NatsError

from chatops.access.files import AccessFiles
from chatops.bus import Caller, call, connect
from chatops.contract import command
from chatops.settings import BusSettings
from chatops.v1.version_pb2 import GetVersionRequest
from slackemu.client import EmulatorControl
from tools.harness.up import Up, running_up
from tools.harness.wait import eventually, eventually_sync

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[Up]:
    tmp = tmp_path_factory.mktemp("up-tls")
    with running_up(tmp, "--tls", "--health-timeout", "120") as running:
        yield running


def bus_settings(stack: Up, identity: str) -> BusSettings:
    """What a tool needs on the TLS bus: its seed, the CA and its own certificate."""
    env = AccessFiles(stack.data_dir, use_tls=True).env(identity)
    return BusSettings(NATS_URL=stack.state()["nats_url"], **env)  # type: ignore[arg-type]


async def test_the_table_shows_a_tls_bus_and_every_identity_has_its_own_certificate(stack):
    assert stack.state()["nats_url"].startswith("tls://")
    assert stack.state()["tls"] is True  # so the console beside it knows to use its certificate
    files = AccessFiles(stack.data_dir, use_tls=True)
    for name in ("ops", "gateway", "notifier", "console", "tools"):
        pair = files.cert(name)
        assert pair.cert.is_file()
        assert pair.key.stat().st_mode & 0o077 == 0, f"{name}'s key is readable by others"


async def test_a_chat_command_and_a_tool_are_answered_over_tls(stack):
    async with EmulatorControl(stack.ports.url("slackemu")) as control:
        alice = await control.user_id("alice")
        oncall = await control.channel_id("oncall")

        async def answered() -> dict[str, object]:
            ts = await control.mention(alice, oncall, "deployed version")
            reply = await control.wait_for_message(oncall, thread_ts=ts, timeout=60)
            assert "0.1.0" in json.dumps(reply), reply
            return reply

        await eventually(answered, timeout=90, interval=2.0, what="the gateway's reply over the TLS bus")

    nc = await connect(bus_settings(stack, "tools"), "tools")
    try:
        assert nc.connected_url is not None and nc.connected_url.scheme == "tls"
        reply = await call(nc, command("version.get"), GetVersionRequest(), Caller(actor="tool"))
        assert reply is not None
    finally:
        await nc.close()


async def test_a_client_without_a_certificate_is_not_let_in(stack):
    files = AccessFiles(stack.data_dir, use_tls=True)
    url, seed = stack.state()["nats_url"], str(files.seed("tools"))

    async def connects(context: ssl.SSLContext) -> bool:
        client = Client()
        try:
            await client.connect(url, tls=context, nkeys_seed=seed, allow_reconnect=False, connect_timeout=2)
            return client.is_connected
        except (NatsError, OSError, ssl.SSLError):
            return False
        finally:
            await client.close()

    trusting = ssl.create_default_context(cafile=str(files.ca))  # trusts the server, shows nothing
    showing = ssl.create_default_context(cafile=str(files.ca))
    pair = files.cert("tools")
    showing.load_cert_chain(str(pair.cert), str(pair.key))
    assert await connects(showing)  # the same seed and CA with its certificate: let in
    assert not await connects(trusting)


def test_the_console_beside_the_stack_finds_its_tls_bus_on_its_ports_by_itself(stack):
    # The stack runs on a --base-port block over TLS; the console reads where from .chatops/state.json.
    asked = stack.console("ask", "--as", "newcomer", "deployed", "version")
    assert asked.returncode == 0, asked.stderr
    assert "0.1.0" in asked.stdout

    def recorded() -> bool:
        shown = stack.console("history", "--user", "console:newcomer")
        assert shown.returncode == 0, shown.stderr
        return "version.get" in shown.stdout

    eventually_sync(recorded, timeout=30, interval=0.5, what="the console's command in `chatops history`")
