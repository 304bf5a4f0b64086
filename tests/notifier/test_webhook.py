"""The webhook model and its conversion to AlertNotification, on the recorded payloads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from chatops.v1.events_pb2 import AlertNotification
from notifier.webhook import MAX_ALERTS, PayloadError, content_id, parse_payload, to_notification

FIXTURES = Path(__file__).parent.parent / "fixtures" / "alertmanager"


def load(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def convert(body: bytes) -> AlertNotification:
    return to_notification(parse_payload(body))


def test_firing_fixture_becomes_a_notification() -> None:
    note = convert(load("webhook-01-firing-AlwaysFiring.json"))
    assert note.group_key == '{}:{alertname="AlwaysFiring"}'
    assert note.status == "firing"
    assert note.receiver == "hook-ok"
    assert dict(note.common_labels) == {"alertname": "AlwaysFiring", "severity": "page", "team": "chatops"}
    assert dict(note.common_annotations) == {"summary": "Always firing test alert"}
    assert note.external_url == "http://127.0.0.1:19093"
    assert len(note.alerts) == 1
    alert = note.alerts[0]
    assert alert.fingerprint == "f1a143ebadae344f"
    assert alert.generator_url.startswith("http://127.0.0.1:19090/graph?")
    assert alert.starts_at.ToJsonString() == "2026-11-27T03:55:51.554Z"
    # Go's zero time means "still firing": left unset.
    assert not alert.HasField("ends_at")
    # "page" is not one of ours, so the notification's severity is "none".
    assert note.severity == "none"


def test_resolved_fixture_keeps_its_end_time() -> None:
    note = convert(load("webhook-04-resolved-ShortLived.json"))
    assert note.status == "resolved"
    assert note.alerts[0].ends_at.ToJsonString() == "2026-11-27T03:56:06.554Z"
    assert note.severity == "info"


def test_truncated_fixture_counts_the_alerts_left_out() -> None:
    note = convert(load("webhook-03-firing-Multi.json"))
    assert note.truncated_alerts == 2
    assert note.group_key == '{}/{alertname="Multi"}:{alertname="Multi"}'


@pytest.mark.parametrize(
    ("severities", "expected"),
    [
        (["info", "critical", "warning"], "critical"),
        (["info", "warning"], "warning"),
        (["INFO"], "info"),
        (["page", ""], "none"),
    ],
)
def test_severity_is_the_highest_present(severities: list[str], expected: str) -> None:
    raw = json.loads(load("webhook-01-firing-AlwaysFiring.json"))
    template = raw["alerts"][0]
    raw["alerts"] = [
        {**template, "labels": {"alertname": f"A{i}", "severity": s}} for i, s in enumerate(severities)
    ]
    assert convert(json.dumps(raw).encode()).severity == expected


def test_content_id_ignores_receipt_time_and_sender_url() -> None:
    body = load("webhook-01-firing-AlwaysFiring.json")
    first = convert(body)
    second = convert(body)
    second.received_at.GetCurrentTime()
    second.external_url = "http://peer-b:9093"
    second.notification_id = "something"
    assert content_id(first) == content_id(second)
    assert len(content_id(first)) == 64


def test_content_id_changes_with_the_alerts() -> None:
    firing = convert(load("webhook-02-firing-ShortLived.json"))
    resolved = convert(load("webhook-04-resolved-ShortLived.json"))
    assert content_id(firing) != content_id(resolved)


def test_content_id_does_not_depend_on_label_order() -> None:
    raw = json.loads(load("webhook-01-firing-AlwaysFiring.json"))
    reordered = dict(raw)
    reordered["commonLabels"] = dict(reversed(list(raw["commonLabels"].items())))
    a = convert(json.dumps(raw).encode())
    b = convert(json.dumps(reordered).encode())
    assert content_id(a) == content_id(b)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"not json at all", "body"),
        (b"[]", "body"),
        (b'{"version": "4"}', "groupKey"),
        (b'{"version": "3", "groupKey": "g", "status": "firing", "receiver": "r", "alerts": []}', "version"),
    ],
)
def test_bad_bodies_name_the_problem(body: bytes, reason: str) -> None:
    with pytest.raises(PayloadError) as info:
        parse_payload(body)
    assert reason in str(info.value)


def test_alert_with_bad_status_is_refused() -> None:
    raw = json.loads(load("webhook-01-firing-AlwaysFiring.json"))
    raw["alerts"][0]["status"] = "exploded"
    with pytest.raises(PayloadError, match=r"alerts\.0\.status"):
        parse_payload(json.dumps(raw).encode())


def test_empty_alert_list_is_refused() -> None:
    raw = json.loads(load("webhook-01-firing-AlwaysFiring.json"))
    raw["alerts"] = []
    with pytest.raises(PayloadError, match="alerts"):
        parse_payload(json.dumps(raw).encode())


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (
            lambda r: r["alerts"][0].update(startsAt=1700000000),
            "alerts.0.startsAt: Input should be a valid datetime",
        ),
        (lambda r: r["alerts"][0]["labels"].update(n=5), "alerts.0.labels.n: Input should be a valid string"),
        (lambda r: r.update(truncatedAlerts="3"), "truncatedAlerts: Input should be a valid integer"),
        (lambda r: r["alerts"][0]["labels"].update(big="v" * 4097), "at most 4096 characters"),
        (lambda r: r["alerts"][0]["labels"].update({"n" * 257: "x"}), "at most 256 characters"),
        (lambda r: r["alerts"][0]["labels"].update({f"l{i}": "x" for i in range(65)}), "at most 64 items"),
        (lambda r: r["alerts"][0]["annotations"].update(d="d" * 16385), "at most 16384 characters"),
        (lambda r: r.update(alerts=r["alerts"] * 501), "alerts: List should have at most 500 items"),
    ],
)
def test_wrong_types_and_oversized_parts_are_refused_by_name(change, reason: str) -> None:
    # Strict: a number is not quietly taken for a time or a string. Bounded: nothing huge is stored.
    raw = json.loads(load("webhook-01-firing-AlwaysFiring.json"))
    change(raw)
    with pytest.raises(PayloadError) as info:
        parse_payload(json.dumps(raw).encode())
    assert reason in str(info.value) and len(str(info.value)) < 400


def test_alertmanager_never_sends_more_alerts_than_the_notifier_takes() -> None:
    config = yaml.safe_load((Path(__file__).parents[2] / "alertmanager" / "alertmanager.yml").read_text())
    hooks = [hook for r in config["receivers"] for hook in r.get("webhook_configs", [])]
    assert hooks and all(0 < hook["max_alerts"] <= MAX_ALERTS for hook in hooks)
