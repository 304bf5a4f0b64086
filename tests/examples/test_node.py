"""The Node.js example on the real bus: nats-server, ops, petstore, Prometheus and the notifier."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.harness.petstore import EnvProc, Petstore
from tests.harness.servers import LOOPBACK, NatsServer, Prometheus, env_with, free_port, wait_http

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "node"
WEBHOOK = ROOT / "tests" / "fixtures" / "examples" / "webhook-01-firing-AlwaysFiring.json"
TOKEN = "node-example-test-token"


@pytest.fixture(scope="module")
def node_modules() -> Path:
    """`npm ci` once, from the committed package-lock.json, when node_modules is missing."""
    node, npm = shutil.which("node"), shutil.which("npm")
    assert node and npm, "Node.js 20 and npm are needed: `apt-get install nodejs npm`"
    if not (EXAMPLE / "node_modules" / "nats").is_dir():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=EXAMPLE, check=True, timeout=600)
    return EXAMPLE / "node_modules"


def _python_service(args: list[str], workdir: Path, name: str, **env: str) -> EnvProc:
    proc = EnvProc([sys.executable, *args], workdir, name)
    proc.env = env_with(PYTHONPATH=str(ROOT), LOG_LEVEL="INFO", **env)
    return proc


def _wait_line(proc: subprocess.Popen[str], lines: list[str], want: str, timeout: float) -> str:
    """Read the tool's stdout until a line contains `want`; every line read is kept in `lines`."""
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            raise AssertionError(f"the tool exited ({proc.wait()}) before printing {want!r}: {lines}")
        lines.append(line.rstrip("\n"))
        if want in line:
            return line
    raise AssertionError(f"no line with {want!r} within {timeout}s: {lines}")


def test_node_tool_asks_the_version_and_prints_alerts(tmp_path, node_modules):
    nats = NatsServer(tmp_path / "nats", identities=True).start()
    petstore = Petstore(tmp_path / "petstore", version="7.3.1")
    prometheus = Prometheus(tmp_path / "prom", scrape_targets={"petstore": []})
    started: list[NatsServer | Petstore | Prometheus] = [nats]
    ops = notifier = tool = None
    try:
        petstore.start()
        started.append(petstore)
        prometheus.scrape_targets = {"petstore": [petstore.metrics_target]}
        prometheus.start()
        started.append(prometheus)
        ops_metrics, notifier_port = free_port(), free_port()
        ops = _python_service(
            ["-m", "ops"],
            tmp_path / "ops",
            "ops",
            **nats.env("ops"),
            PETSTORE_ADDR=petstore.addr,
            PROMETHEUS_URL=prometheus.url,
            ALERTMANAGER_URL=f"http://{LOOPBACK}:{free_port()}",
            JAEGER_URL="",
            TRACE_STORE_PATH=str(tmp_path / "traces.sqlite3"),
            OTLP_LISTEN=f"{LOOPBACK}:{free_port()}",
            OPS_METRICS_LISTEN=f"{LOOPBACK}:{ops_metrics}",
        )
        notifier = _python_service(
            ["-m", "notifier"],
            tmp_path / "notifier",
            "notifier",
            **nats.env("notifier"),
            NOTIFIER_TOKEN=TOKEN,
            NOTIFIER_LISTEN=f"{LOOPBACK}:{notifier_port}",
        )
        ops.start()
        notifier.start()
        wait_http(f"http://{LOOPBACK}:{ops_metrics}/healthz", timeout=60, proc=ops.proc)
        wait_http(f"http://{LOOPBACK}:{notifier_port}/healthz", timeout=60, proc=notifier.proc)
        wait_http(f"{prometheus.url}/api/v1/query?query=petstore_build_info", timeout=30)
        # Prometheus scrapes every second; wait until it has the petstore's version.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with urllib.request.urlopen(f"{prometheus.url}/api/v1/query?query=petstore_build_info") as r:
                if json.load(r)["data"]["result"]:
                    break
            time.sleep(0.5)

        tool = subprocess.Popen(
            [shutil.which("node") or "node", "chatops-tool.mjs", "--max-alerts", "1"],
            cwd=EXAMPLE,
            env=env_with(**nats.env("tools")),  # the read-only identity `chatops up` prints
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        lines: list[str] = []
        assert "deployed: 7.3.1 on 1 instance(s)" in _wait_line(tool, lines, "deployed:", 60)
        _wait_line(tool, lines, "listening for alerts", 30)

        req = urllib.request.Request(
            f"http://{LOOPBACK}:{notifier_port}/alerts",
            WEBHOOK.read_bytes(),
            {"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"},
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert resp.status == 200
        alert = _wait_line(tool, lines, "AlwaysFiring", 60)
        assert alert.startswith("[firing/")
        assert "1 alert(s)" in alert
        assert tool.wait(30) == 0  # --max-alerts 1: it drains and exits by itself
    finally:
        if tool is not None and tool.poll() is None:
            tool.kill()
            tool.wait(10)
        for proc in (notifier, ops):
            if proc is not None:
                proc.stop()
        for server in reversed(started):
            server.stop()


def test_node_tool_says_when_ops_is_not_running(tmp_path, node_modules, secure_nats: NatsServer):
    done = subprocess.run(
        [shutil.which("node") or "node", "chatops-tool.mjs"],
        cwd=EXAMPLE,
        env=env_with(**secure_nats.env("tools")),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stderr.strip() == "chatops-tool: the Ops service is not running (no responders)"
