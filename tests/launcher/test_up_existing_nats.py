"""`chatops up` with NATS_URL set: it uses that NATS, starts no nats-server, and leaves it running."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys

import pytest
import yaml

from chatops.bus import connect
from chatops.settings import BusSettings
from tests.harness.servers import NatsServer
from tests.launcher.procs import in_groups, wait_until
from tests.launcher.test_cli import free_base
from tests.launcher.test_configs import ALERTMANAGER_YML, PROMETHEUS_YML, RULES_YML

pytestmark = pytest.mark.slow


async def stream_names(url: str) -> set[str]:
    nc = await connect(BusSettings(NATS_URL=url), "test-existing-nats")
    try:
        return {s.config.name or "" for s in await nc.jetstream().streams_info()}
    finally:
        await nc.close()


def test_an_existing_nats_is_used_and_left_running(tmp_path, nats_server: NatsServer):
    src = tmp_path / "src"
    src.mkdir()
    (src / "prometheus.yml").write_text(yaml.safe_dump(PROMETHEUS_YML))
    (src / "alertmanager.yml").write_text(yaml.safe_dump(ALERTMANAGER_YML))
    (src / "rules.yml").write_text(yaml.safe_dump(RULES_YML))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    env["NATS_URL"] = nats_server.url
    data = tmp_path / "data"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "chatops.launcher",
            "--data-dir",
            str(data),
            "--base-port",
            str(free_base()),
            "--config-dir",
            str(src),
            "--no-demo-load",
            "--color",
            "never",
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    pgids: set[int] = set()

    def state():
        try:
            doc = json.loads((data / "state.json").read_text())
        except (OSError, ValueError):
            return {}
        for comp in doc["components"].values():
            pgids.update(comp["pgids"])
        return doc

    try:
        wait_until(lambda: proc.poll() is not None or state().get("healthy"), timeout=240, what="healthy")
        assert proc.poll() is None, f"chatops up exited with {proc.returncode}"
        doc = state()
        assert doc["nats_url"] == nats_server.url
        assert "nats" not in doc["components"] and "demo-load" not in doc["components"]
        # ops and the notifier provisioned the streams on *this* server.
        assert asyncio.run(stream_names(nats_server.url)) >= {"CHATOPS_ALERTS", "CHATOPS_AUDIT"}
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(120) == 0
        assert in_groups(pgids) == []
        assert nats_server.proc.proc is not None and nats_server.proc.proc.poll() is None
        assert asyncio.run(stream_names(nats_server.url)) >= {"CHATOPS_ALERTS", "CHATOPS_AUDIT"}
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)
        for pgid in pgids:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)
