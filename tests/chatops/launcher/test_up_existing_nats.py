"""`chatops up` with NATS_URL set: it uses that NATS, starts no nats-server, and leaves it running."""

from __future__ import annotations

import asyncio
import signal

import pytest
import yaml

from chatops.bus import connect
from chatops.settings import BusSettings
from tests.chatops.launcher.test_configs import ALERTMANAGER_YML, PROMETHEUS_YML, RULES_YML
from tools.harness.servers import NatsServer
from tools.harness.up import running_up

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
    with running_up(
        tmp_path, "--config-dir", str(src), "--no-demo-load", env={"NATS_URL": nats_server.url}
    ) as up:
        doc = up.state()
        assert doc["nats_url"] == nats_server.url
        assert "nats" not in doc["components"] and "demo-load" not in doc["components"]
        # ops and the notifier provisioned the streams on *this* server.
        assert asyncio.run(stream_names(nats_server.url)) >= {"CHATOPS_ALERTS", "CHATOPS_AUDIT"}
        up.proc.send_signal(signal.SIGTERM)
        assert up.proc.wait(120) == 0
        up.leaves_nothing()
        assert nats_server.proc.running
        assert asyncio.run(stream_names(nats_server.url)) >= {"CHATOPS_ALERTS", "CHATOPS_AUDIT"}
