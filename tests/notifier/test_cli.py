"""`python -m notifier` as its own process: settings errors, start without NATS, SIGTERM."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

from tests.gateway.alerts.stack import TOKEN
from tools.harness import components
from tools.harness.ports import free_port
from tools.harness.procs import ROOT
from tools.harness.servers import NatsServer, env_with

FIXTURE = Path(__file__).parent.parent / "fixtures" / "alertmanager" / "webhook-01-firing-AlwaysFiring.json"


def status_of(url: str, body: bytes | None = None) -> int:
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    req = urllib.request.Request(url, data=body, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def test_missing_token_is_a_clear_error(tmp_path: Path) -> None:
    env = env_with(PYTHONPATH=str(ROOT), NOTIFIER_LISTEN=f"127.0.0.1:{free_port()}")
    env.pop("NOTIFIER_TOKEN", None)
    done = subprocess.run(
        [sys.executable, "-m", "chatops", "notifier"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "NOTIFIER_TOKEN" in done.stderr
    assert "Traceback" not in done.stderr


def test_empty_token_is_refused(tmp_path: Path) -> None:
    env = env_with(PYTHONPATH=str(ROOT), NOTIFIER_TOKEN="  ")
    done = subprocess.run(
        [sys.executable, "-m", "notifier"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2  # as `chatops notifier` says it
    assert "NOTIFIER_TOKEN: must not be empty" in done.stderr


def test_starts_without_nats_answers_503_then_stores_once_nats_is_up(tmp_path: Path) -> None:
    later = NatsServer(tmp_path / "nats")  # started once the notifier is up and waiting
    proc = components.notifier(tmp_path / "notifier", later)
    proc.start(wait=False)
    server: NatsServer | None = None
    try:
        proc.answers("/metrics")
        assert status_of(proc.url + "/healthz") == 503
        assert status_of(proc.url + "/alerts", FIXTURE.read_bytes()) == 503

        server = later.start()
        proc.answers("/healthz")
        assert status_of(proc.url + "/alerts", FIXTURE.read_bytes()) == 200
        assert proc.metric("chatops_notifier_published_total") == 1

        assert proc.proc.popen is not None
        proc.proc.popen.send_signal(signal.SIGTERM)
        assert proc.proc.popen.wait(30) == 0
        log = proc.proc.log_path.read_text()
        assert TOKEN not in log
        assert "notifier.listening" in log and "nats.ready" in log
        assert json.dumps(TOKEN) not in log
    finally:
        proc.stop()
        if server is not None:
            server.stop()
