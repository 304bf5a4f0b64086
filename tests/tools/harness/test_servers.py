"""The harness really starts Prometheus and Alertmanager with generated configs, and stops them."""

from __future__ import annotations

from pathlib import Path

from tools.harness.components import get_json
from tools.harness.servers import Alertmanager, NatsServer, Prometheus, running
from tools.harness.wait import eventually_sync


def test_prometheus_fires_a_rule_into_alertmanager(tmp_path: Path) -> None:
    rules: list[dict[str, object]] = [
        {"alert": "HarnessAlways", "expr": "vector(1)", "labels": {"severity": "info"}}
    ]
    with running(Alertmanager(tmp_path / "am")) as am:
        with running(Prometheus(tmp_path / "prom", rules=rules, alertmanager_url=am.url)) as prom:
            eventually_sync(
                lambda: (
                    "HarnessAlways" in [a["labels"]["alertname"] for a in get_json(f"{am.url}/api/v2/alerts")]
                ),
                timeout=60,
                what="the rule's alert in Alertmanager",
            )
        assert not prom.proc.running
    assert not am.proc.running


def test_nats_server_restarts_on_the_same_port_with_its_store(tmp_path: Path) -> None:
    first = NatsServer(tmp_path / "n").start()
    first.stop()
    with running(NatsServer(tmp_path / "n", port=first.port)) as again:
        assert again.url == first.url
        assert again.store.exists()
