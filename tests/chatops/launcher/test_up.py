"""`chatops up` end to end: the whole stack on free ports in a tmp dir, as a newcomer would run it."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import stat
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from nats.aio.client import Client
from nats.errors import Error as NatsError

from chatops import actors
from chatops.bus import Caller, ServiceFailed, call, connect
from chatops.contract import command
from chatops.launcher.ports import in_use
from chatops.nats_server import MIN_VERSION
from chatops.settings import BusSettings
from chatops.v1.audit_pb2 import ListAuditRequest
from chatops.v1.sampling_pb2 import SetSamplingRequest
from slackemu.client import EmulatorControl
from tests.chatops.test_nats_server import pinned_version
from tools.harness.alerts import push_alert
from tools.harness.up import Up, running_up
from tools.harness.wait import eventually, eventually_sync

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[Up]:
    tmp = tmp_path_factory.mktemp("up")
    with running_up(tmp, "--health-timeout", "120") as running:
        yield running


async def ask(control: EmulatorControl, channel: str, user: str, text: str, expect: str, timeout=90.0):
    """Mention the bot until a reply in the thread contains `expect` (Prometheus may not have scraped yet)."""

    async def answered() -> dict[str, Any] | None:
        ts = await control.mention(user, channel, text)
        reply = await control.wait_for_message(channel, thread_ts=ts, timeout=60)
        assert expect in json.dumps(reply), reply  # kept as the last answer if it never comes
        return reply

    return await eventually(answered, timeout=timeout, interval=2.0, what=f"a reply containing {expect!r}")


def test_the_table_and_the_slack_page_are_reported(stack):
    text = stack.output.read_text()
    for name in (
        "nats",
        "prometheus",
        "alertmanager",
        "ops",
        "deployer",
        "notifier",
        "slackemu",
        "gateway",
        "demo-load",
    ):
        assert f"up           | {name}" in text, name
    page = stack.ports.url("slackemu", "/")
    assert f"chat with the bot at {page}" in text
    assert "admins in the offline Slack: alice (U" in text and "bob (U" in text
    with urllib.request.urlopen(page, timeout=10) as resp:
        assert resp.status == 200
    logs = [Path(c["log"]) for c in stack.state()["components"].values()]
    eventually_sync(lambda: all(p.stat().st_size > 0 for p in logs), timeout=60, what="every log file")


def tools_settings(stack: Up) -> BusSettings:
    """What a tool gets from the table: the bus and the read-only identity's seed file."""
    state = stack.state()
    return BusSettings(NATS_URL=state["nats_url"], NATS_NKEY_SEED_FILE=state["tools_seed"])


def test_every_identity_has_a_key_only_its_owner_reads_and_the_table_names_the_tools_one(stack):
    seed = Path(stack.state()["tools_seed"])
    assert seed == stack.data_dir / "creds" / "tools.nk"
    assert re.search(rf"tools \(read-only\)\s+{re.escape(str(seed))}", stack.output.read_text())
    keys = sorted((stack.data_dir / "creds").glob("*.nk"))
    assert {k.stem for k in keys} >= {"ops", "gateway", "notifier", "console", "tools", "provisioner"}
    for key in keys:
        assert stat.S_IMODE(key.stat().st_mode) == 0o600, key


async def test_the_stack_runs_the_pinned_nats_server_with_identities(stack):
    nc = await connect(tools_settings(stack), "tools")
    try:
        version = nc.connected_server_version
        assert (version.major, version.minor) >= MIN_VERSION
        assert f"{version.major}.{version.minor}.{version.patch}" == pinned_version()
        # The read-only identity is answered, and may change nothing.
        reply = await call(nc, command("audit.list"), ListAuditRequest(limit=1), Caller(actor="tool"))
        assert reply is not None
        with pytest.raises(ServiceFailed) as refused:
            await call(nc, command("sampling.set"), SetSamplingRequest(), Caller(actor="slack:U0ANYONE"))
        assert refused.value.code == 403
    finally:
        await nc.close()
    # Without an identity the stack's NATS lets nobody in.
    anonymous = Client()
    try:
        with pytest.raises(NatsError):
            await anonymous.connect(stack.state()["nats_url"], allow_reconnect=False, connect_timeout=2)
    finally:
        await anonymous.close()


async def test_a_command_through_the_offline_slack_gets_a_reply(stack):
    async with EmulatorControl(stack.ports.url("slackemu")) as control:
        alice = await control.user_id("alice")
        oncall = await control.channel_id("oncall")
        reply = await ask(control, oncall, alice, "deployed version", expect="0.1.0")
        assert reply["thread_ts"]
        # The deployer started both instances at the manifest's first release, and says so.
        await ask(control, oncall, alice, "release status 0.1.0", expect="live on 2/2 instances")


async def test_an_alert_pushed_by_the_real_alertmanager_reaches_oncall(stack):
    url = stack.ports.url("alertmanager")
    await push_alert(url, "LauncherSmoke", "sent by the launcher's end-to-end test", job="petstore")
    async with EmulatorControl(stack.ports.url("slackemu")) as control:
        oncall = await control.channel_id("oncall")
        msg = await control.wait_for_message(
            oncall, predicate=lambda m: "LauncherSmoke" in json.dumps(m), timeout=120
        )
        assert "launcher's end-to-end test" in json.dumps(msg)


async def test_the_offline_slack_users_are_admins_for_the_gateway_and_ops(stack):
    async with EmulatorControl(stack.ports.url("slackemu")) as control:
        alice = await control.user_id("alice")
        oncall = await control.channel_id("oncall")
        question = await ask(control, oncall, alice, "change sampling always", expect="chatops_confirm")
        await control.click_button(alice, oncall, question["ts"], "chatops_confirm")
        # The gateway let alice ask, and ops (which checks CHATOPS_ADMINS again) ran it.
        done = await control.wait_for_update(
            oncall, question["ts"], predicate=lambda m: "to always" in m["text"], timeout=60
        )
        assert "Sampling changed from" in done["text"]
        stranger = await control.create_user("stranger", "Not An Admin")
        await ask(control, oncall, stranger, "change sampling never", expect="only admins may run it")


def test_whoever_started_the_demo_is_an_admin_at_the_console_too(stack):
    you = actors.console(actors.shell_user())
    assert you in stack.state()["admins"]
    assert f"at this shell: {you} (chatops ask)" in stack.output.read_text()
    changed = stack.console("ask", "--yes", "change", "sampling", "float", "0.25")
    assert changed.returncode == 0, changed.stdout + changed.stderr
    assert "0.25" in changed.stdout
    # Another console actor is refused, and the refusal names the admins the stack's ops has.
    refused = stack.console("ask", "--as", "visitor", "--yes", "change", "sampling", "never")
    assert refused.returncode == 3, refused.stdout + refused.stderr
    said = refused.stdout + refused.stderr
    assert "only admins may run it" in said and you in said and "@U" in said  # the Slack users


async def test_the_demo_alert_fires_on_its_own_and_reaches_oncall(stack):
    """No set-up: the demo load's errors cross the rule, and the real Alertmanager pushes it."""
    async with EmulatorControl(stack.ports.url("slackemu")) as control:
        oncall = await control.channel_id("oncall")
        msg = await control.wait_for_message(
            oncall, predicate=lambda m: "PetstoreErrorRatioHigh" in json.dumps(m), timeout=240
        )
    ratio = re.search(r"Petstore error ratio is ([0-9.]+%)", json.dumps(msg))
    assert ratio, msg
    # Figures for the report, not assertions: how long after "healthy" it arrived, and the ratio.
    print(f"demo alert ({ratio[1]}) reached #oncall {time.monotonic() - stack.ready_at:.0f}s after healthy")


async def test_killed_ops_is_restarted_and_commands_work_again(stack):
    before = stack.state()["components"]["ops"]
    os.kill(before["pid"], signal.SIGKILL)

    def restarted():
        ops = stack.state()["components"]["ops"]
        return ops["restarts"] >= 1 and ops["healthy"] and ops["pid"] != before["pid"]

    eventually_sync(restarted, timeout=120, what="ops to be restarted")
    assert "ops exited with code -9; restarting it in" in stack.output.read_text()
    async with EmulatorControl(stack.ports.url("slackemu")) as control:
        alice = await control.user_id("alice")
        oncall = await control.channel_id("oncall")
        await ask(control, oncall, alice, "deployed version", expect="0.1.0")


def stops_cleanly(stack: Up, sig: int) -> None:
    stack.state()
    assert stack.pgids
    stack.proc.send_signal(sig)
    assert stack.proc.wait(120) == 0
    assert "stopped; nothing left running" in stack.output.read_text()
    stack.leaves_nothing()
    busy = [p for p in stack.ports.named().values() if in_use(p)]
    assert busy == []


def test_ctrl_c_stops_everything_and_leaves_no_process(stack):
    stops_cleanly(stack, signal.SIGINT)


def test_a_restarted_stack_still_shows_the_firing_alert_in_oncall(stack):
    """After the demo alert reached #oncall and Ctrl-C, `chatops up` again: #oncall still shows it.

    Alertmanager's notification log (in the data dir) says the alert was sent and will not send it
    again for hours; the offline Slack keeps its workspace in the same data dir, so the two agree.
    """
    started = time.monotonic()
    with running_up(stack.data_dir.parent, "--health-timeout", "120", output="up-again.log") as again:

        async def oncall_messages() -> list[dict[str, Any]]:
            async with EmulatorControl(again.ports.url("slackemu")) as control:
                return await control.messages(await control.channel_id("oncall"))

        texts = [m["text"] for m in asyncio.run(oncall_messages())]
        assert any("FIRING" in t and "PetstoreErrorRatioHigh" in t for t in texts), texts
        seconds = time.monotonic() - started
        print(f"restarted stack healthy with the alert in #oncall {seconds:.0f}s after launch")
        stops_cleanly(again, signal.SIGTERM)
