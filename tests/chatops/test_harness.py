"""The harness really starts Prometheus and Alertmanager with generated configs, and stops them."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path

from tests.harness.servers import Alertmanager, NatsServer, Prometheus


def get_json(url: str) -> object:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return json.load(resp)


def test_prometheus_fires_a_rule_into_alertmanager(tmp_path: Path) -> None:
    am = Alertmanager(tmp_path / "am").start()
    try:
        prom = Prometheus(
            tmp_path / "prom",
            rules=[{"alert": "HarnessAlways", "expr": "vector(1)", "labels": {"severity": "info"}}],
            alertmanager_url=am.url,
        ).start()
        try:
            deadline = time.monotonic() + 60
            names: list[object] = []
            while time.monotonic() < deadline and "HarnessAlways" not in names:
                alerts = get_json(f"{am.url}/api/v2/alerts")
                assert isinstance(alerts, list)
                names = [a["labels"]["alertname"] for a in alerts]
                time.sleep(0.5)
            assert "HarnessAlways" in names
        finally:
            prom.stop()
        assert prom.proc.proc is not None and prom.proc.proc.poll() is not None
    finally:
        am.stop()
    assert am.proc.proc is not None and am.proc.proc.poll() is not None


def test_nats_server_restarts_on_the_same_port_with_its_store(tmp_path: Path) -> None:
    first = NatsServer(tmp_path / "n").start()
    first.stop()
    again = NatsServer(tmp_path / "n", port=first.port).start()
    try:
        assert again.url == first.url
        assert again.store.exists()
    finally:
        again.stop()
