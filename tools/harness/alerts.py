"""Alertmanager webhook bodies, stored on the bus the way the notifier stores them, and the Slack
messages they become (top-level posts, thread replies, their text)."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp
from nats.aio.client import Client
from nats.js import JetStreamContext

from chatops import codec
from chatops.cardref import group_ref
from chatops.subjects import ALERTS_STREAM, H_MSG_ID, KV_ALERT_MESSAGES, alert_subject
from chatops.v1.events_pb2 import AlertNotification
from chatops.v1.records_pb2 import AlertMessageRecord
from notifier.webhook import content_id, parse_payload, to_notification
from slackemu.client import EmulatorControl
from tools.harness.procs import ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "alertmanager"  # recorded from a real Alertmanager


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return data


def webhook(group: str, alerts: list[tuple[str, str]], *, severity: str = "warning") -> dict[str, Any]:
    """A v4 body for group `group` with alerts (instance, status); status follows Alertmanager's rule."""
    body = copy.deepcopy(fixture("webhook-01-firing-AlwaysFiring.json"))
    template = body["alerts"][0]
    body["alerts"] = []
    for instance, status in alerts:
        alert = copy.deepcopy(template)
        alert["status"] = status
        alert["labels"] = {"alertname": group, "severity": severity, "instance": instance}
        alert["annotations"] = {"summary": f"{group} on {instance}"}
        alert["fingerprint"] = f"{group}-{instance}"
        if status == "resolved":
            alert["endsAt"] = "2026-11-27T04:00:00Z"
        body["alerts"].append(alert)
    body["status"] = "firing" if any(s == "firing" for _, s in alerts) else "resolved"
    body["groupKey"] = f'{{}}:{{alertname="{group}"}}'
    body["groupLabels"] = {"alertname": group}
    body["commonLabels"] = {"alertname": group, "severity": severity}
    body["commonAnnotations"] = {}
    return body


async def store(nc: Client, body: dict[str, Any]) -> int:
    """Append a webhook body to CHATOPS_ALERTS as the notifier would; returns the stream sequence."""
    note = to_notification(parse_payload(json.dumps(body).encode()))
    note.notification_id = content_id(note)
    note.received_at.GetCurrentTime()
    ack = await nc.jetstream().publish(
        alert_subject(note.status, note.severity),
        codec.encode(note),
        stream=ALERTS_STREAM,
        headers={H_MSG_ID: note.notification_id},
    )
    return int(ack.seq)


@dataclass
class Card:
    """An alert card as the gateway keeps it: its ref, its record in the bucket, its notification."""

    ref: str
    record: AlertMessageRecord
    note: AlertNotification


async def open_card(nc: Client, name: str, instances: tuple[str, ...] = ("h1",)) -> Card:
    """A card posted for a firing group: its notification on CHATOPS_ALERTS, its record in the bucket."""
    body = webhook(name, [(i, "firing") for i in instances])
    js = nc.jetstream()
    seq = await store(nc, body)
    note = codec.decode((await js.get_msg(ALERTS_STREAM, seq)).data or b"", AlertNotification)
    record = AlertMessageRecord(
        channel="C0ONCALL",
        ts=f"{seq}.000100",
        group_key=note.group_key,
        episode_id=note.notification_id,
        applied_id=note.notification_id,
        applied_seq=seq,
    )
    ref = group_ref(body["groupKey"])
    await (await js.key_value(KV_ALERT_MESSAGES)).put(ref, codec.encode(record))
    return Card(ref, record, note)


async def resolve_card(js: JetStreamContext, card: Card) -> AlertMessageRecord:
    """The card's group resolved: its record says so (the card is closed)."""
    resolved = AlertMessageRecord()
    resolved.CopyFrom(card.record)
    resolved.resolved = True
    await (await js.key_value(KV_ALERT_MESSAGES)).put(card.ref, codec.encode(resolved))
    return resolved


def top_level(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in messages if not m.get("thread_ts") or m["thread_ts"] == m["ts"]]


def replies(messages: list[dict[str, Any]], ts: str) -> list[dict[str, Any]]:
    return [m for m in messages if m.get("thread_ts") == ts and m["ts"] != ts]


def flat(message: dict[str, Any]) -> str:
    return json.dumps(message.get("blocks", []), ensure_ascii=False) + str(message.get("text", ""))


async def resolved_in_place(
    control: EmulatorControl, channel: str, posted: dict[str, Any], name: str, timeout: float
) -> dict[str, Any]:
    """Once "Resolved" is said in the thread of the alert message `posted`: that same message, alone at
    the top of `channel`, now says RESOLVED and strikes the alert `name` through."""
    reply = await control.wait_for_message(channel, thread_ts=posted["ts"], timeout=timeout)
    assert "Resolved" in reply["text"]
    [original] = top_level(await control.messages(channel))
    assert original["ts"] == posted["ts"]
    assert "RESOLVED" in flat(original) and f"~*{name}*" in flat(original)
    return original


async def push_alert(alertmanager_url: str, name: str, summary: str, **labels: str) -> None:
    """One alert into Alertmanager's API, firing from now, as Prometheus would send it."""
    body = [
        {
            "labels": {"alertname": name, "severity": "warning", **labels},
            "annotations": {"summary": summary},
            "startsAt": datetime.now(UTC).isoformat(),
        }
    ]
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{alertmanager_url}/api/v2/alerts", json=body) as resp,
    ):
        resp.raise_for_status()
