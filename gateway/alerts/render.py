"""Pure rendering of an AlertNotification as one Slack message: blocks, colour, and thread replies."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from chatops.v1.events_pb2 import AlertInstance, AlertNotification
from chatops.v1.records_pb2 import ChatSilence

SILENCE_ACTIONS = (("chatops_silence_1h", "Silence 1h"), ("chatops_silence_4h", "Silence 4h"))
COLOURS = {"critical": "#d0021b", "warning": "#f5a623", "info": "#4a90e2", "none": "#9b9b9b"}
RESOLVED_COLOUR = "#2eb886"
SEVERITY_ICON = {
    "critical": ":red_circle:",
    "warning": ":large_orange_circle:",
    "info": ":large_blue_circle:",
}

Block = dict[str, Any]


@dataclass(frozen=True)
class Limits:
    """Slack's limits (50 blocks, 3000 chars per section, 150 per header) and how many alerts we list."""

    max_blocks: int = 50
    section_chars: int = 3000
    header_chars: int = 150
    max_listed_alerts: int = 40
    alert_line_chars: int = 600
    labels_chars: int = 1500


@dataclass(frozen=True)
class AlertMessage:
    """What chat.postMessage / chat.update get."""

    text: str
    blocks: list[Block] = field(default_factory=list)
    attachments: list[dict[str, str]] = field(default_factory=list)


def escape(text: str) -> str:
    """Slack mrkdwn control characters; everything else is shown as sent."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def cut(text: str, limit: int) -> str:
    """At most `limit` characters, with an ellipsis when cut."""
    return text if len(text) <= limit else text[: max(0, limit - 1)] + "…"


def when(ts: Any) -> str:
    """A protobuf Timestamp as `2026-11-27 03:55:51 UTC`."""
    moment: datetime = ts.ToDatetime(tzinfo=UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def alert_names(note: AlertNotification) -> list[str]:
    """Distinct alertname labels, in first-seen order."""
    seen: dict[str, None] = {}
    for alert in note.alerts:
        seen.setdefault(alert.labels.get("alertname", "(no alertname)"), None)
    return list(seen)


def counts(note: AlertNotification) -> tuple[int, int]:
    """(firing, resolved) among the alerts sent, plus those Alertmanager left out counted as firing."""
    resolved = sum(1 for a in note.alerts if a.status == "resolved")
    return len(note.alerts) - resolved + note.truncated_alerts, resolved


def all_resolved(note: AlertNotification) -> bool:
    return note.status == "resolved" and counts(note)[0] == 0


def colour(note: AlertNotification) -> str:
    return RESOLVED_COLOUR if all_resolved(note) else COLOURS.get(note.severity, COLOURS["none"])


def headline(note: AlertNotification) -> str:
    """`FIRING [critical] HighErrorRatio, PetstoreDown`: also the notification fallback text."""
    state = "RESOLVED" if all_resolved(note) else "FIRING"
    names = ", ".join(alert_names(note))
    return f"{state} [{note.severity}] {names}"


def _alert_line(alert: AlertInstance, common: dict[str, str], limits: Limits) -> str:
    name = alert.labels.get("alertname", "(no alertname)")
    own = {k: v for k, v in sorted(alert.labels.items()) if common.get(k) != v}
    text = alert.annotations.get("summary") or alert.annotations.get("description") or ""
    parts = [f"*{escape(name)}*"]
    if own:
        parts.append(" ".join(f"`{escape(k)}={escape(v)}`" for k, v in own.items()))
    if text:
        parts.append(escape(text.replace("\n", " ")))
    parts.append(f"since {when(alert.starts_at)}")
    body = cut(" · ".join(parts), limits.alert_line_chars)
    if alert.status == "resolved":
        ended = f" at {when(alert.ends_at)}" if alert.HasField("ends_at") else ""
        # Strike each line on its own: Slack's ~…~ does not span newlines or cut formatting.
        body = f"~{body.replace('~', '')}~ :white_check_mark: resolved{ended}"
    else:
        body = f":fire: {body}"
    # A very long link would push the line past Slack's section limit and be cut mid-link.
    if alert.generator_url and len(alert.generator_url) <= 1500:
        body += f" <{alert.generator_url}|graph>"
    return body


def _mrkdwn(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _pack(lines: list[str], limits: Limits, budget: int) -> tuple[list[Block], int]:
    """Pack lines into at most `budget` sections of <= section_chars; returns blocks and lines left out."""
    if budget <= 0:
        return [], len(lines)
    blocks: list[Block] = []
    current: list[str] = []
    size = 0
    for index, line in enumerate(lines):
        line = cut(line, limits.section_chars)
        extra = len(line) + (1 if current else 0)
        if current and size + extra > limits.section_chars:
            if len(blocks) + 1 >= budget:
                blocks.append(_mrkdwn("\n".join(current)))
                return blocks, len(lines) - index
            blocks.append(_mrkdwn("\n".join(current)))
            current, size = [], 0
            extra = len(line)
        current.append(line)
        size += extra
    if current:
        blocks.append(_mrkdwn("\n".join(current)))
    return blocks, 0


def render(
    note: AlertNotification, *, ref: str, silenced: ChatSilence | None = None, limits: Limits | None = None
) -> AlertMessage:
    """One Slack message for one notification; `ref` is the button value that finds the group again."""
    limits = limits or Limits()
    common = dict(note.common_labels)
    icon = ":white_check_mark:" if all_resolved(note) else SEVERITY_ICON.get(note.severity, ":bell:")
    blocks: list[Block] = [
        {
            "type": "header",
            "text": {
                "type": "plain_text",
                "emoji": True,
                "text": cut(f"{icon} {headline(note)}", limits.header_chars),
            },
        },
    ]
    summary = note.common_annotations.get("summary", "")
    description = note.common_annotations.get("description", "")
    about = "\n".join(p for p in (f"*{escape(summary)}*" if summary else "", escape(description)) if p)
    if about:
        blocks.append(_mrkdwn(cut(about, limits.section_chars)))
    if common:
        labels = " ".join(f"`{escape(k)}={escape(v)}`" for k, v in sorted(common.items()))
        blocks.append(_mrkdwn(cut(f"*Labels:* {labels}", limits.labels_chars)))

    tail: list[Block] = []
    firing, resolved = counts(note)
    links = [f"{firing} firing, {resolved} resolved"]
    if note.external_url:
        links.append(f"<{note.external_url}/#/alerts|Alertmanager>")
    links.append(f"group `{escape(cut(note.group_key, 300))}`")
    tail.append({"type": "context", "elements": [{"type": "mrkdwn", "text": " · ".join(links)}]})
    if silenced is not None:
        until = silenced.until.ToDatetime(tzinfo=UTC).strftime("%Y-%m-%d %H:%M UTC")
        link = f" (<{silenced.url}|silence>)" if silenced.url else ""
        tail.append(
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": f":no_bell: Silenced by <@{silenced.user_id}> until {until}{link}",
                    }
                ],
            }
        )
    if not all_resolved(note):
        tail.append(
            {
                "type": "actions",
                "block_id": "chatops_alert_actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": action,
                        "text": {"type": "plain_text", "text": label},
                        "value": ref,
                    }
                    for action, label in SILENCE_ACTIONS
                ],
            }
        )

    listed = list(note.alerts[: limits.max_listed_alerts])
    lines = [_alert_line(a, common, limits) for a in listed]
    left_out = len(note.alerts) - len(listed) + note.truncated_alerts
    # One block is kept back for the "… and N more" line.
    budget = limits.max_blocks - len(blocks) - len(tail) - 1
    alert_blocks, not_packed = _pack(lines, limits, budget)
    left_out += not_packed
    blocks.extend(alert_blocks)
    if left_out:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"… and {left_out} more"}]})
    blocks.extend(tail)
    return AlertMessage(
        text=cut(headline(note), 300),
        blocks=blocks,
        attachments=[
            {
                "color": colour(note),
                "fallback": headline(note)[:300],
                "text": f"{firing} firing, {resolved} resolved",
            }
        ],
    )


def update_reply(note: AlertNotification) -> str:
    """The short thread reply posted when a later notification updates the message."""
    firing, resolved = counts(note)
    if all_resolved(note):
        return f":white_check_mark: Resolved: all {resolved} alert(s) of this group."
    return f":arrows_counterclockwise: Update: {firing} firing, {resolved} resolved."


def silence_reply(silenced: ChatSilence) -> str:
    """The thread reply after a silence button worked."""
    until = silenced.until.ToDatetime(tzinfo=UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f":no_bell: <@{silenced.user_id}> silenced this group until {until}."
