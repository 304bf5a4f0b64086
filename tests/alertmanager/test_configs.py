"""The committed configs in alertmanager/ are valid for the real tools and say what the stack needs."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from notifier.settings import NotifierSettings
from tools.harness.procs import ROOT

ERROR_RATIO_DESCRIPTION = (
    "More than 5% of petstore requests failed over the last minute on petstore. "
    "Ask chat for `list traces since=15m tags=[error]` to see which calls fail."
)
DOWN_DESCRIPTION = "Prometheus cannot scrape 127.0.0.1:9101 (job petstore) for 30s."
CONFIGS = ROOT / "alertmanager"


def tool(name: str) -> str:
    path = shutil.which(name)
    assert path, f"{name} is not installed (Debian: prometheus / prometheus-alertmanager)"
    return path


def run(*args: str, cwd: Path = CONFIGS) -> str:
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def test_prometheus_config_and_rules_pass_promtool() -> None:
    assert "SUCCESS" in run(tool("promtool"), "check", "config", "prometheus.yml")
    assert "SUCCESS: 17 rules found" in run(tool("promtool"), "check", "rules", "rules.yml")


def test_alertmanager_config_passes_amtool() -> None:
    assert "SUCCESS" in run(tool("amtool"), "check-config", "alertmanager.yml")


def test_alertmanager_sends_everything_to_the_notifier_with_a_token() -> None:
    config = yaml.safe_load((CONFIGS / "alertmanager.yml").read_text())
    assert config["route"]["receiver"] == "chatops-notifier"
    [receiver] = [r for r in config["receivers"] if r["name"] == "chatops-notifier"]
    [hook] = receiver["webhook_configs"]
    listen = NotifierSettings.model_fields["NOTIFIER_LISTEN"].default
    assert hook["url"] == f"http://{listen}/alerts"
    assert hook["send_resolved"] is True
    auth = hook["http_config"]["authorization"]
    assert auth["type"] == "Bearer" and "credentials_file" in auth
    assert "credentials" not in auth  # no secret committed


def test_prometheus_scrapes_petstore_and_every_component() -> None:
    config = yaml.safe_load((CONFIGS / "prometheus.yml").read_text())
    targets = {
        job["job_name"]: [target for static in job["static_configs"] for target in static["targets"]]
        for job in config["scrape_configs"]
    }
    assert targets == {
        "petstore": ["127.0.0.1:9101", "127.0.0.1:9104"],  # the deployer's two instance slots
        "chatops-ops": ["127.0.0.1:9102"],
        "chatops-gateway": ["127.0.0.1:9103"],
        "chatops-notifier": ["127.0.0.1:9095"],
        "chatops-deployer": ["127.0.0.1:9105"],
    }
    assert config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == ["127.0.0.1:9093"]


def test_every_rule_has_severity_summary_and_description() -> None:
    groups = {g["name"]: g["rules"] for g in yaml.safe_load((CONFIGS / "rules.yml").read_text())["groups"]}
    assert {r["alert"]: r["labels"]["severity"] for r in groups["petstore"]} == {
        "PetstoreErrorRatioHigh": "warning",
        "PetstoreDown": "critical",
        "PetstoreSlowSearches": "warning",
    }
    for rule in [*groups["petstore"], *groups["chatops"]]:
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]
        assert rule["labels"]["severity"] in ("critical", "warning", "info", "none")
    # Alerts about chatops itself carry the label that routes them around chatops; the others do not.
    assert all(r["labels"]["chain"] == "chatops" for r in groups["chatops"])
    assert all("chain" not in r["labels"] for r in groups["petstore"])


def route_for(labels: dict[str, str]) -> str:
    """The receiver the committed alertmanager.yml picks, as amtool computes it."""
    args = [
        "config",
        "routes",
        "test",
        "--config.file=alertmanager.yml",
        *(f"{k}={v}" for k, v in labels.items()),
    ]
    return run(tool("amtool"), *args).splitlines()[0].strip()


def test_alerts_about_chatops_go_around_it_and_the_watchdog_to_the_dead_mans_switch() -> None:
    assert route_for({"alertname": "ChatopsGatewayDown", "chain": "chatops", "severity": "critical"}) == (
        "chatops-direct"
    )
    assert route_for({"alertname": "Watchdog", "chain": "chatops", "severity": "none"}) == "deadman"
    assert route_for({"alertname": "PetstoreDown", "severity": "critical"}) == "chatops-notifier"
    config = yaml.safe_load((CONFIGS / "alertmanager.yml").read_text())
    receivers = {r["name"]: r for r in config["receivers"]}
    # The second path needs nothing of chatops: Alertmanager's own Slack integration, its URL in a file.
    [slack] = receivers["chatops-direct"]["slack_configs"]
    assert set(receivers["chatops-direct"]) == {"name", "slack_configs"}
    assert slack["send_resolved"] is True and slack["api_url_file"].startswith("/") and "api_url" not in slack
    assert set(receivers["deadman"]) == {"name"}


def promtool_rule_test(tmp_path: Path, series: list[dict[str, str]], check: dict[str, Any]) -> None:
    """`promtool test rules` of the project's rules.yml: `series` every 15 s, then one alert check."""
    shutil.copy(CONFIGS / "rules.yml", tmp_path / "rules.yml")
    test = {
        "rule_files": ["rules.yml"],
        "evaluation_interval": "15s",
        "tests": [{"interval": "15s", "input_series": series, "alert_rule_test": [check]}],
    }
    (tmp_path / "test.yml").write_text(yaml.safe_dump(test))
    run(tool("promtool"), "test", "rules", "test.yml", cwd=tmp_path)


@pytest.mark.parametrize(
    ("errors_per_step", "fires"),
    [(10, True), (6, True), (4, False), (0, False)],  # per 100 requests; the demo load fails ~10
)
def test_error_ratio_rule_fires_only_above_5_percent(
    tmp_path: Path, errors_per_step: int, fires: bool
) -> None:
    expected = (
        [
            {
                "exp_labels": {"severity": "warning", "job": "petstore"},
                "exp_annotations": {
                    "summary": f"Petstore error ratio is {errors_per_step}%",
                    "description": ERROR_RATIO_DESCRIPTION,
                },
            }
        ]
        if fires
        else []
    )
    series = [
        {
            "series": 'petstore_requests_total{job="petstore",method="SearchPets",code="OK"}',
            "values": "0+100x20",
        },
        {
            "series": 'petstore_request_errors_total{job="petstore",method="SearchPets"}',
            "values": f"0+{errors_per_step}x20",
        },
    ]
    check = {"eval_time": "4m", "alertname": "PetstoreErrorRatioHigh", "exp_alerts": expected}
    promtool_rule_test(tmp_path, series, check)


def test_petstore_down_rule_fires_when_the_target_is_down(tmp_path: Path) -> None:
    series = [{"series": 'up{job="petstore",instance="127.0.0.1:9101"}', "values": "0x10"}]
    check = {
        "eval_time": "1m",
        "alertname": "PetstoreDown",
        "exp_alerts": [
            {
                "exp_labels": {"severity": "critical", "job": "petstore", "instance": "127.0.0.1:9101"},
                "exp_annotations": {
                    "summary": "Petstore 127.0.0.1:9101 is down",
                    "description": DOWN_DESCRIPTION,
                },
            }
        ],
    }
    promtool_rule_test(tmp_path, series, check)
