"""Rewriting the committed configs for other ports: pure checks, then the real servers load them."""

from __future__ import annotations

import json
import stat
import subprocess
import urllib.request
from typing import Any

import yaml

from chatops.launcher.configs import (
    Tuning,
    alertmanager_config,
    move_address,
    move_url,
    prometheus_config,
    rules_config,
    write_configs,
)
from chatops.launcher.ports import Ports, second_replicas
from chatops.launcher.spec import alertmanager_component, prometheus_component
from tools.harness.ports import free_port
from tools.harness.procs import ROOT, Process
from tools.harness.servers import binary, running

PROMETHEUS_YML: dict[str, Any] = {
    "global": {"scrape_interval": "15s"},
    "rule_files": ["rules.yml"],
    "alerting": {"alertmanagers": [{"static_configs": [{"targets": ["127.0.0.1:9093"]}]}]},
    "scrape_configs": [
        {"job_name": "petstore", "static_configs": [{"targets": ["127.0.0.1:9101"]}]},
        {"job_name": "ops", "static_configs": [{"targets": ["127.0.0.1:9102"]}]},
        {"job_name": "elsewhere", "static_configs": [{"targets": ["10.0.0.1:8080"]}]},
    ],
}
ALERTMANAGER_YML: dict[str, Any] = {
    "route": {"receiver": "chatops", "group_wait": "1s"},
    "receivers": [
        {
            "name": "chatops",
            "webhook_configs": [
                {
                    "url": "http://127.0.0.1:9095/alerts",
                    "send_resolved": True,
                    "http_config": {"authorization": {"type": "Bearer", "credentials": "committed-value"}},
                }
            ],
        }
    ],
}
RULES_YML: dict[str, Any] = {
    "groups": [{"name": "petstore", "rules": [{"alert": "Always", "expr": "vector(1)", "labels": {}}]}]
}


def _targets(doc):
    return [t for job in doc["scrape_configs"] for s in job["static_configs"] for t in s["targets"]]


def test_addresses_and_urls_move_only_known_ports():
    moved = {9101: 20004, 9095: 20009}
    assert move_address("127.0.0.1:9101", moved) == "127.0.0.1:20004"
    assert move_address("10.0.0.1:8080", moved) == "10.0.0.1:8080"
    assert move_address("no-port", moved) == "no-port"
    assert move_url("http://127.0.0.1:9095/alerts", moved) == "http://127.0.0.1:20009/alerts"
    assert move_url("https://example.invalid/x", moved) == "https://example.invalid/x"


def test_prometheus_config_moves_targets_and_alertmanager_and_shortens_intervals(tmp_path):
    ports = Ports.from_base(21000)
    out = prometheus_config(PROMETHEUS_YML, ports.moved(), [tmp_path / "rules.yml"])
    assert _targets(out) == [ports.addr("petstore_metrics"), ports.addr("ops_metrics"), "10.0.0.1:8080"]
    assert out["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == [ports.addr("alertmanager")]
    assert out["rule_files"] == [str(tmp_path / "rules.yml")]
    assert out["global"]["scrape_interval"] == "5s"
    assert PROMETHEUS_YML["scrape_configs"][0]["static_configs"][0]["targets"] == ["127.0.0.1:9101"]


def test_alertmanager_config_reads_the_token_from_a_file_and_drops_inline_credentials(tmp_path):
    ports = Ports.from_base(21000)
    out = alertmanager_config(ALERTMANAGER_YML, ports.moved(), tmp_path / "token")
    hook = out["receivers"][0]["webhook_configs"][0]
    assert hook["url"] == ports.url("notifier", "/alerts")
    expected = {"type": "Bearer", "credentials_file": str(tmp_path / "token")}
    assert hook["http_config"]["authorization"] == expected
    assert "committed-value" not in yaml.safe_dump(out)


def _write_sources(src):
    src.mkdir()
    (src / "prometheus.yml").write_text(yaml.safe_dump(PROMETHEUS_YML))
    (src / "alertmanager.yml").write_text(yaml.safe_dump(ALERTMANAGER_YML))
    (src / "rules.yml").write_text(yaml.safe_dump(RULES_YML))


def test_written_configs_keep_the_token_private(tmp_path):
    _write_sources(tmp_path / "src")
    files = write_configs(tmp_path / "src", tmp_path / "out", Ports.from_base(21000).moved(), "s3cret-token")
    assert files.notifier_token.read_text() == "s3cret-token"
    assert stat.S_IMODE(files.notifier_token.stat().st_mode) == 0o600
    for path in (files.prometheus, files.alertmanager, *files.rules):
        assert "s3cret-token" not in path.read_text()


def _get_json(url):
    with urllib.request.urlopen(url, timeout=5) as resp:
        return json.load(resp)


def test_real_prometheus_and_alertmanager_load_the_rewritten_configs(tmp_path):
    _write_sources(tmp_path / "src")
    ports = Ports(prometheus=free_port(), alertmanager=free_port())
    files = write_configs(tmp_path / "src", tmp_path / "out", ports.moved(), "tok")
    am = Process(
        alertmanager_component(
            binary("prometheus-alertmanager", "alertmanager"),
            ports.alertmanager,
            files.alertmanager,
            tmp_path / "am",
        ),
        tmp_path,
    )
    prom = Process(
        prometheus_component(binary("prometheus"), ports.prometheus, files.prometheus, tmp_path / "tsdb"),
        tmp_path,
    )
    with running(am), running(prom):
        status = _get_json(ports.url("alertmanager", "/api/v2/status"))
        assert str(files.notifier_token) in status["config"]["original"]
        rules = _get_json(ports.url("prometheus", "/api/v1/rules"))["data"]["groups"]
        assert [r["name"] for g in rules for r in g["rules"]] == ["Always"]
        config = yaml.safe_load(_get_json(ports.url("prometheus", "/api/v1/status/config"))["data"]["yaml"])
        assert ports.addr("alertmanager") in yaml.safe_dump(config["alerting"])


COMMITTED = ROOT / "alertmanager"


def test_the_second_path_reads_its_webhook_url_from_a_file_or_is_dropped(tmp_path):
    committed = yaml.safe_load((COMMITTED / "alertmanager.yml").read_text())
    ports = Ports.from_base(21000)
    out = alertmanager_config(committed, ports.moved(), tmp_path / "token", tmp_path / "hook.url")
    [direct] = [r for r in out["receivers"] if r.get("slack_configs")]
    assert [s["api_url_file"] for s in direct["slack_configs"]] == [str(tmp_path / "hook.url")]
    assert "api_url" not in yaml.safe_dump(direct).replace("api_url_file", "")
    off = alertmanager_config(committed, ports.moved(), tmp_path / "token", None)
    assert all("slack_configs" not in r for r in off["receivers"])
    # The notifier's webhook and the routes are the same either way.
    assert off["route"] == out["route"] == committed["route"]


def test_tuning_shortens_every_rules_for_and_alertmanagers_waits(tmp_path):
    committed_rules = yaml.safe_load((COMMITTED / "rules.yml").read_text())
    fast = Tuning(scrape_interval="1s", rule_for="3s", group_wait="1s", group_interval="2s")
    rules = rules_config(committed_rules, fast)
    alerts = [r for g in rules["groups"] for r in g["rules"] if "alert" in r]
    assert alerts and {r["for"] for r in alerts} == {"3s"}
    assert rules_config(committed_rules) == committed_rules
    am = alertmanager_config(
        yaml.safe_load((COMMITTED / "alertmanager.yml").read_text()), {}, tmp_path / "t", None, fast
    )
    assert am["route"]["group_wait"] == "1s" and am["route"]["group_interval"] == "2s"
    watchdog = next(r for r in am["route"]["routes"] if r["receiver"] == "deadman")
    assert watchdog["group_wait"] == "1s"  # a route that sets its own waits gets the short ones too
    direct = next(r for r in am["route"]["routes"] if r["receiver"] == "chatops-direct")
    assert "group_wait" not in direct  # it inherits the root's
    prom = prometheus_config(PROMETHEUS_YML, {}, [], fast)
    assert prom["global"] == {"scrape_interval": "1s", "evaluation_interval": "1s"}


def test_the_webhook_url_is_a_private_file_and_the_real_tools_accept_the_result(tmp_path):
    files = write_configs(
        COMMITTED, tmp_path / "out", Ports.from_base(21000).moved(), "tok", webhook_url="http://h/x"
    )
    assert files.slack_webhook is not None and files.slack_webhook.read_text() == "http://h/x"
    assert stat.S_IMODE(files.slack_webhook.stat().st_mode) == 0o600
    assert "http://h/x" not in files.alertmanager.read_text()
    for args in (
        [binary("amtool"), "check-config", str(files.alertmanager)],
        [binary("promtool"), "check", "rules", *map(str, files.rules)],
    ):
        done = subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
    without = write_configs(COMMITTED, tmp_path / "none", Ports().moved(), "tok")
    assert without.slack_webhook is None and not (tmp_path / "none" / "slack-webhook.url").exists()


def test_a_cluster_scrapes_every_replica_alerts_both_alertmanagers_and_notifies_both_notifiers(tmp_path):
    ports = Ports.from_base(21000)
    files = write_configs(COMMITTED, tmp_path / "out", ports.moved(), "tok", twins=second_replicas())
    prom = yaml.safe_load(files.prometheus.read_text())
    jobs = {j["job_name"]: j["static_configs"][0]["targets"] for j in prom["scrape_configs"]}
    assert jobs["chatops-ops"] == [ports.addr("ops_metrics"), ports.addr("ops2_metrics")]
    assert jobs["chatops-gateway"] == [ports.addr("gateway_metrics"), ports.addr("gateway2_metrics")]
    assert jobs["chatops-notifier"] == [ports.addr("notifier"), ports.addr("notifier2")]
    assert jobs["chatops-deployer"] == [ports.addr("deployer_metrics")]  # one per host
    alerting = prom["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    assert alerting == [ports.addr("alertmanager"), ports.addr("alertmanager2")]
    am = yaml.safe_load(files.alertmanager.read_text())
    [notifier] = [r for r in am["receivers"] if r["name"] == "chatops-notifier"]
    urls = [h["url"] for h in notifier["webhook_configs"]]
    assert urls == [ports.url("notifier", "/alerts"), ports.url("notifier2", "/alerts")]
    assert {h["http_config"]["authorization"]["credentials_file"] for h in notifier["webhook_configs"]} == {
        str(files.notifier_token)
    }
    done = subprocess.run(
        [binary("amtool"), "check-config", str(files.alertmanager)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    # One of each, as before, without twins.
    single = yaml.safe_load(write_configs(COMMITTED, tmp_path / "one", {}, "tok").alertmanager.read_text())
    assert [len(r.get("webhook_configs") or []) for r in single["receivers"]] == [
        len(r.get("webhook_configs") or [])
        for r in yaml.safe_load((COMMITTED / "alertmanager.yml").read_text())["receivers"]
    ]
