"""The gateway's entry points: bad configuration named clearly, the docs command, the Slack manifest."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from pathlib import Path

import yaml

from gateway.commands import SPECS
from gateway.commands.help import markdown
from tools.harness import components
from tools.harness.servers import NatsServer, env_with
from tools.harness.slackemu import SlackEmulator

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        env=env_with(PYTHONPATH=str(ROOT), **env),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_missing_bot_token_is_named_and_nothing_starts():
    done = run("-m", "gateway", SLACK_BOT_TOKEN="", SLACK_APP_TOKEN="xapp-1-x")
    assert done.returncode == 2
    assert "SLACK_BOT_TOKEN" in done.stderr and "Traceback" not in done.stderr


def test_neither_app_token_nor_signing_secret_is_named():
    done = run(
        "-m", "gateway", SLACK_BOT_TOKEN="xoxb-1-secretvalue", SLACK_APP_TOKEN="", SLACK_SIGNING_SECRET=""
    )
    assert done.returncode == 2
    assert "SLACK_APP_TOKEN" in done.stderr and "SLACK_SIGNING_SECRET" in done.stderr
    assert "secretvalue" not in done.stderr


def test_a_bad_listen_address_is_named():
    done = run(
        "-m", "gateway", SLACK_BOT_TOKEN="xoxb-1", SLACK_APP_TOKEN="xapp-1", GATEWAY_METRICS_LISTEN="nowhere"
    )
    assert done.returncode == 2 and "GATEWAY_METRICS_LISTEN" in done.stderr


def test_the_docs_command_prints_every_command_with_an_example():
    done = run("-m", "gateway.docs")
    assert done.returncode == 0
    assert done.stdout == markdown()
    for spec in SPECS:
        assert f"### {spec.phrase}" in done.stdout
        assert f"@chatops {spec.examples[0]}" in done.stdout


def test_the_manifest_asks_for_what_the_gateway_uses_and_no_more():
    manifest = yaml.safe_load((ROOT / "slack-app-manifest.yml").read_text())
    settings = manifest["settings"]
    assert settings["socket_mode_enabled"] is True
    assert settings["interactivity"]["is_enabled"] is True
    events = settings["event_subscriptions"]["bot_events"]
    assert sorted(events) == ["app_mention", "message.im"]
    # Every Web API method the gateway calls, and the scope Slack demands for it.
    scope_of_method = {
        "chat_postMessage": "chat:write",
        "chat_postEphemeral": "chat:write",
        "chat_update": "chat:write",
        "reactions_add": "reactions:write",
        "users_info": "users:read",
        # files.getUploadURLExternal and files.completeUploadExternal: the graphs
        "files_upload_v2": "files:write",
        # after a crash: is the alert post (its metadata) already in the channel or thread?
        "conversations_history": "channels:history",
        "conversations_replies": "channels:history",
    }
    scope_of_event = {"app_mention": "app_mentions:read", "message.im": "im:history"}
    source = "\n".join(p.read_text() for p in sorted((ROOT / "gateway").rglob("*.py")))
    families = "chat|conversations|files|im|pins|reactions|users|views"
    called = set(re.findall(rf"\.((?:{families})_[A-Za-z0-9_]+)\(", source))
    unknown = called - set(scope_of_method)
    assert not unknown, f"the gateway calls {sorted(unknown)}: add their scopes here and to the manifest"
    needed = {scope_of_method[m] for m in called} | {scope_of_event[e] for e in events}
    assert sorted(manifest["oauth_config"]["scopes"]["bot"]) == sorted(needed)


async def test_the_gateway_waits_for_nats_and_then_answers(tmp_path):
    slack = SlackEmulator(tmp_path / "slack").start()
    nats = NatsServer(tmp_path / "nats")  # not started yet
    gw = components.gateway(tmp_path / "gw", nats, slack, SLACK_ONCALL_CHANNEL="")
    try:
        gw.start(wait=False)
        await asyncio.to_thread(gw.answers, "/healthz", 503)
        nats.start()
        await asyncio.to_thread(gw.answers, "/healthz", 200)
        async with slack.control() as ctl:
            await ctl.wait_connected(1, timeout=60)
            user = await ctl.create_user("late")
            channel = await ctl.create_channel("late-start")
            ts = await ctl.mention(user, channel, "help")
            reply = await ctl.wait_for_message(channel, thread_ts=ts, timeout=30)
        assert "Here is what I can do" in reply["text"]
        assert "ConnectionRefusedError" in gw.log_tail(200)  # it did wait for NATS
    finally:
        gw.stop()
        nats.stop()
        slack.stop()
    assert gw.proc.popen is not None and gw.proc.popen.returncode == 0  # SIGTERM is a clean stop


def test_sigterm_stops_a_gateway_still_waiting_for_nats(tmp_path):
    nats = NatsServer(tmp_path / "nats")  # never started
    slack = SlackEmulator(tmp_path / "slack")  # never started: its tokens only, nothing answers
    gw = components.gateway(tmp_path / "gw", nats, slack)
    gw.start(wait=False)
    try:
        gw.answers("/healthz", 503)
    finally:
        gw.proc.stop(grace=30)
    assert gw.proc.popen is not None and gw.proc.popen.returncode == 0, gw.log_tail()
