"""The `chatops` rules (alerts about chatops itself) under `promtool test rules`, one run for all cases."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import yaml

from tests.alertmanager.test_configs import CONFIGS, run, tool

GW = {"job": "chatops-gateway", "instance": "127.0.0.1:9103"}
CHAIN = {"chain": "chatops"}


def series(name: str, labels: dict[str, str], values: str) -> dict[str, str]:
    inner = ",".join(f'{k}="{v}"' for k, v in labels.items())
    return {"series": f"{name}{{{inner}}}", "values": values}


RULES = {
    r["alert"]: r
    for g in yaml.safe_load((CONFIGS / "rules.yml").read_text())["groups"]
    for r in g["rules"]
    if "alert" in r
}


def rendered(alert: str, labels: dict[str, str], value: str) -> dict[str, str]:
    """The rule's annotations with its label templates filled in and `$value` shown as `value`."""

    def fill(text: str) -> str:
        text = re.sub(r"\{\{ \$labels\.(\w+) \}\}", lambda m: labels[m[1]], text)
        return re.sub(r"\{\{ \$value[^}]*\}\}", value, text)

    return {k: fill(v) for k, v in RULES[alert]["annotations"].items()}


def fires(alert: str, at: str, labels: dict[str, str] | None, value: str = "") -> dict[str, Any]:
    """At `at`, `alert` fires once with these labels and `$value` (None: it does not fire)."""
    expected = []
    if labels is not None:
        full = {**labels, **CHAIN}
        expected.append({"exp_labels": full, "exp_annotations": rendered(alert, full, value)})
    return {"eval_time": at, "alertname": alert, "exp_alerts": expected}


def case(inputs: list[dict[str, str]], *checks: dict[str, Any]) -> dict[str, Any]:
    return {"interval": "15s", "input_series": inputs, "alert_rule_test": list(checks)}


CASES = [
    # A component that cannot be scraped for a minute is down; one that comes back is not.
    case(
        [
            series("up", GW, "0x10"),
            series("up", {"job": "chatops-ops", "instance": "127.0.0.1:9102"}, "1x10"),
            series("up", {"job": "chatops-notifier", "instance": "127.0.0.1:9095"}, "0 0 0 1 1 1 1 1 1 1"),
            series("up", {"job": "chatops-deployer", "instance": "127.0.0.1:9105"}, "0x10"),
        ],
        fires("ChatopsGatewayDown", "30s", None),
        fires("ChatopsGatewayDown", "90s", {**GW, "severity": "critical"}),
        fires("ChatopsOpsDown", "2m", None),
        fires("ChatopsNotifierDown", "2m", None),
        fires(
            "ChatopsDeployerDown",
            "90s",
            {"job": "chatops-deployer", "instance": "127.0.0.1:9105", "severity": "critical"},
        ),
    ),
    # Every component cut off from NATS: NATS is down. One cut off while others are connected: that one.
    case(
        [
            series("chatops_bus_connected", GW, "0x20"),
            series("chatops_bus_connected", {"job": "chatops-ops", "instance": "127.0.0.1:9102"}, "0x20"),
        ],
        fires("ChatopsNatsDown", "90s", {"severity": "critical"}),
    ),
    case(
        [
            series("chatops_bus_connected", GW, "0x20"),
            series("chatops_bus_connected", {"job": "chatops-ops", "instance": "127.0.0.1:9102"}, "1x20"),
        ],
        fires("ChatopsNatsDown", "4m", None),
        fires("ChatopsBusDisconnected", "3m", {**GW, "severity": "warning"}),
    ),
    # A notification that keeps waiting is a stall; a busy queue that drains now and then is not.
    case(
        [series("chatops_gateway_alerts_oldest_pending_seconds", GW, "0+15x20")],
        fires("ChatopsAlertDeliveryStalled", "90s", None),
        fires(
            "ChatopsAlertDeliveryStalled", "3m", {"job": "chatops-gateway", "severity": "critical"}, "3m 0s"
        ),
    ),
    case(
        [
            series(
                "chatops_gateway_alerts_oldest_pending_seconds", GW, "0 3 0 3 0 3 0 3 0 3 0 3 0 3 0 3 0 3 0 3"
            )
        ],
        fires("ChatopsAlertDeliveryStalled", "4m", None),
    ),
    # Slack errors: a handful in five minutes is worth a look; one is not.
    case(
        [
            series(
                "chatops_gateway_slack_errors_total",
                {**GW, "method": "chat.postMessage", "error": "x"},
                "0+1x20",
            )
        ],
        fires("ChatopsSlackErrorsRising", "4m", {**GW, "severity": "warning"}, "16"),
    ),
    case(
        [
            series(
                "chatops_gateway_slack_errors_total",
                {**GW, "method": "chat.postMessage", "error": "x"},
                "0 1x19",
            )
        ],
        fires("ChatopsSlackErrorsRising", "4m", None),
    ),
    # One dead letter is one alert on-call never saw.
    case(
        [
            series(
                "chatops_gateway_alerts_dead_lettered_total",
                {**GW, "error": "is_archived"},
                "0 0 0 1 1 1 1 1",
            ),
            series("chatops_gateway_alerts_dead_lettered_total", {**GW, "error": "undecodable"}, "0x20"),
        ],
        fires("ChatopsAlertsDeadLettered", "30s", None),
        fires("ChatopsAlertsDeadLettered", "1m", {**GW, "severity": "critical"}, "1"),
    ),
    # One failed audit append is already a gap in the log, one unjournaled message a gap in the
    # gateways' safety net; refused webhooks are lost alerts.
    case(
        [
            series(
                "chatops_ops_audit_failures_total", {"job": "chatops-ops", "instance": "i"}, "0 0 0 1 1 1 1 1"
            ),
            series("chatops_gateway_journal_errors_total", GW, "0 0 0 1 1 1 1 1"),
            series(
                "chatops_notifier_rejected_total",
                {"job": "chatops-notifier", "instance": "n", "reason": "unauthorized"},
                "0 0 2 2 2",
            ),
            series(
                "chatops_notifier_rejected_total",
                {"job": "chatops-notifier", "instance": "n", "reason": "unavailable"},
                "0 0 9 9 9",
            ),
        ],
        fires(
            "ChatopsAuditFailing", "1m", {"job": "chatops-ops", "instance": "i", "severity": "warning"}, "1"
        ),
        fires("ChatopsGatewayJournalFailing", "30s", None),
        fires("ChatopsGatewayJournalFailing", "1m", {**GW, "severity": "warning"}, "1"),
        fires(
            "ChatopsNotifierRefusingAlerts",
            "1m",
            {"job": "chatops-notifier", "instance": "n", "reason": "unauthorized", "severity": "critical"},
        ),
    ),
    case(
        [
            series(
                "chatops_ops_trace_store_up",
                {"job": "chatops-ops", "instance": "i", "backend": "jaeger"},
                "0x20",
            )
        ],
        fires("ChatopsTraceStoreDown", "1m", None),
        fires(
            "ChatopsTraceStoreDown",
            "3m",
            {"job": "chatops-ops", "instance": "i", "backend": "jaeger", "severity": "warning"},
        ),
    ),
    # The dead man's switch fires with no input at all.
    case([], fires("Watchdog", "1m", {"severity": "none"})),
]


def test_the_chatops_rules_fire_when_they_should_and_only_then(tmp_path: Path) -> None:
    shutil.copy(CONFIGS / "rules.yml", tmp_path / "rules.yml")
    test = {"rule_files": ["rules.yml"], "evaluation_interval": "15s", "tests": CASES}
    (tmp_path / "test.yml").write_text(yaml.safe_dump(test, width=200))
    assert "SUCCESS" in run(tool("promtool"), "test", "rules", "test.yml", cwd=tmp_path)


def test_the_gateway_down_text_says_what_on_call_needs() -> None:
    text = rendered("ChatopsGatewayDown", GW, "")
    assert text["summary"] == "The chatops gateway 127.0.0.1:9103 is down"
    assert "nobody answers in chat" in text["description"]
