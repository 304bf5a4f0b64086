"""The Node.js example on the real bus: nats-server, ops, petstore, Prometheus and the notifier."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import urllib.request
from pathlib import Path

import pytest

from tools.harness import components
from tools.harness.components import NOTIFIER_TOKEN, get_json
from tools.harness.petstore import Petstore
from tools.harness.procs import ROOT
from tools.harness.servers import NatsServer, Prometheus, env_with, running
from tools.harness.wait import eventually_sync

EXAMPLE = ROOT / "examples" / "node"
WEBHOOK = ROOT / "tests" / "fixtures" / "examples" / "webhook-01-firing-AlwaysFiring.json"


@pytest.fixture(scope="module")
def node_modules() -> Path:
    """`npm ci` once, from the committed package-lock.json, when node_modules is missing."""
    node, npm = shutil.which("node"), shutil.which("npm")
    assert node and npm, "Node.js 20 and npm are needed: `apt-get install nodejs npm`"
    if not (EXAMPLE / "node_modules" / "nats").is_dir():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=EXAMPLE, check=True, timeout=600)
    return EXAMPLE / "node_modules"


def _wait_line(proc: subprocess.Popen[str], lines: list[str], want: str, timeout: float) -> str:
    """Read the tool's stdout until a line contains `want`; every line read is kept in `lines`."""
    assert proc.stdout is not None
    stdout = proc.stdout

    def next_line() -> str | None:
        line = stdout.readline()
        if not line:
            raise RuntimeError(f"the tool exited ({proc.wait()}) before printing {want!r}: {lines}")
        lines.append(line.rstrip("\n"))
        return line if want in line else None

    return eventually_sync(next_line, timeout=timeout, interval=0, what=f"a line with {want!r}")


def test_node_tool_asks_the_version_and_prints_alerts(tmp_path, node_modules):
    tool = None
    with contextlib.ExitStack() as parts:
        nats = parts.enter_context(running(NatsServer(tmp_path / "nats", identities=True)))
        petstore = parts.enter_context(running(Petstore(tmp_path / "petstore", version="7.3.1")))
        scrape = {"petstore": [petstore.metrics_target]}
        prometheus = parts.enter_context(running(Prometheus(tmp_path / "prom", scrape_targets=scrape)))
        ops = components.ops(
            tmp_path / "ops", nats, PETSTORE_ADDR=petstore.addr, PROMETHEUS_URL=prometheus.url
        )
        parts.enter_context(running(ops))
        notifier = parts.enter_context(running(components.notifier(tmp_path / "notifier", nats)))
        # Prometheus scrapes every second; wait until it has the petstore's version.
        eventually_sync(
            lambda: get_json(f"{prometheus.url}/api/v1/query?query=petstore_build_info")["data"]["result"],
            timeout=60,
            what="Prometheus scraping the petstore",
        )

        tool = subprocess.Popen(
            [shutil.which("node") or "node", "chatops-tool.mjs", "--max-alerts", "1"],
            cwd=EXAMPLE,
            env=env_with(**nats.env("tools")),  # the read-only identity `chatops up` prints
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        parts.callback(_ended, tool)
        lines: list[str] = []
        assert "deployed: 7.3.1 on 1 instance(s)" in _wait_line(tool, lines, "deployed:", 60)
        _wait_line(tool, lines, "listening for alerts", 30)

        req = urllib.request.Request(
            f"{notifier.url}/alerts",
            WEBHOOK.read_bytes(),
            {"Content-Type": "application/json", "Authorization": f"Bearer {NOTIFIER_TOKEN}"},
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert resp.status == 200
        alert = _wait_line(tool, lines, "AlwaysFiring", 60)
        assert alert.startswith("[firing/")
        assert "1 alert(s)" in alert
        assert tool.wait(30) == 0  # --max-alerts 1: it drains and exits by itself


def _ended(tool: subprocess.Popen[str]) -> None:
    if tool.poll() is None:
        tool.kill()
        tool.wait(10)


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
