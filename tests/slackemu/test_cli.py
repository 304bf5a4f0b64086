"""The emulator process: settings errors name the variable, SIGTERM stops it cleanly, bad input."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import aiohttp

from tools.harness.ports import free_port
from tools.harness.procs import ROOT
from tools.harness.servers import env_with
from tools.harness.slackemu import SlackEmulator
from tools.harness.wait import eventually_sync


def run(**env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "slackemu"],
        env=env_with(PYTHONPATH=str(ROOT), **env),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )


def test_bad_settings_name_the_variable() -> None:
    bad_token = run(SLACKEMU_BOT_TOKEN="xapp-wrong-kind")
    assert bad_token.returncode == 2
    assert "SLACKEMU_BOT_TOKEN" in bad_token.stderr and "xoxb-" in bad_token.stderr
    assert "xapp-wrong-kind" not in bad_token.stderr
    bad_listen = run(SLACKEMU_LISTEN="nowhere")
    assert bad_listen.returncode == 2 and "SLACKEMU_LISTEN" in bad_listen.stderr


def test_sigterm_stops_cleanly(tmp_path: Path) -> None:
    emu = SlackEmulator(tmp_path).start()
    emu.stop()
    assert emu.proc.popen is not None and emu.proc.popen.returncode == 0
    assert "slackemu.stopping" in emu.log_tail()


async def test_bad_input_gets_clear_answers(slack_emulator: SlackEmulator) -> None:
    base = slack_emulator.base_url
    auth = {"Authorization": f"Bearer {slack_emulator.bot_token}"}
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{base}/api/chat.postMessage", data="{nope", headers={**auth, "Content-Type": "application/json"}
        ) as resp:
            assert (await resp.json())["error"] == "invalid_json"
        form = {"channel": "oncall", "text": "hi", "blocks": "[not json"}
        async with http.post(f"{base}/api/chat.postMessage", data=form, headers=auth) as resp:
            assert (await resp.json())["error"] == "invalid_blocks"
        form["blocks"] = '[{"type": "divider"}]'
        async with http.post(f"{base}/api/chat.postMessage", data=form, headers=auth) as resp:
            body = await resp.json()
            assert body["ok"] is True and body["message"]["blocks"] == [{"type": "divider"}]
        async with http.get(f"{base}/api/users.info", params={"user": "U0NOPE"}, headers=auth) as resp:
            assert (await resp.json())["error"] == "user_not_found"
        async with http.post(
            f"{base}/control/messages", json={"user_id": "U0NOPE", "channel_id": "x", "text": "hi"}
        ) as resp:
            assert resp.status == 404 and "user_not_found" in (await resp.json())["error"]
        async with http.post(f"{base}/control/messages", data="[]") as resp:
            assert resp.status == 400 and "JSON object" in (await resp.json())["error"]
        async with http.post(f"{base}/control/faults", json={"kind": "meteor"}) as resp:
            assert resp.status == 400 and "unknown fault kind" in (await resp.json())["error"]
        async with http.post(f"{base}/control/actions", json={"user_id": "x"}) as resp:
            assert resp.status == 400
        async with http.get(f"{base}/healthz") as resp:
            assert resp.status == 200


def _gone(pid: int) -> bool:
    """True once `pid` has exited (a zombie waiting for its new parent counts as exited)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state == "Z"


def test_an_orphaned_emulator_stops_by_itself(tmp_path: Path) -> None:
    """A killed test run must not leave emulators behind on a shared machine."""
    port = free_port()
    log = tmp_path / "slackemu.log"
    starter = (
        "import subprocess, sys\n"
        "from chatops.launcher.process import probe\n"
        "from chatops.launcher.spec import Health\n"
        "from tools.harness.wait import eventually_sync\n"
        f"out = open({str(log)!r}, 'ab')\n"
        "p = subprocess.Popen([sys.executable, '-m', 'slackemu'], start_new_session=True,\n"
        "                     stdout=out, stderr=out)\n"
        f"eventually_sync(lambda: probe(Health(url='http://127.0.0.1:{port}/healthz')) == 200)\n"
        "print(p.pid)\n"
    )
    env = {"SLACKEMU_LISTEN": f"127.0.0.1:{port}", "SLACKEMU_EXIT_WITH_PARENT": "true"}
    out = subprocess.run(
        [sys.executable, "-c", starter],
        env=env_with(PYTHONPATH=str(ROOT), **env),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        check=True,
    )
    pid = int(out.stdout.strip())
    try:
        eventually_sync(lambda: _gone(pid), timeout=30, what="the orphaned emulator to stop by itself")
    finally:
        if not _gone(pid):
            os.kill(pid, signal.SIGKILL)
    assert "slackemu.parent_gone" in log.read_text()
