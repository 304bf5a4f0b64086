"""Pure rendering of an AlertNotification as the renderer's document: one message, thread replies."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from typing import Any

from chatops.v1.events_pb2 import AlertInstance, AlertNotification
from chatops.v1.records_pb2 import ChatSilence
from gateway.render.doc import Button, Buttons, Doc, Line, Lines, Link, Mark, Mention, Note, Para, cut

SILENCE_1H = "chatops_silence_1h"
SILENCE_4H = "chatops_silence_4h"
SILENCE_HOURS = {SILENCE_1H: 1, SILENCE_4H: 4}
TONES = ("critical", "warning", "info")
SEVERITY_ICON = {
    "critical": ":red_circle:",
    "warning": ":large_orange_circle:",
    "info": ":large_blue_circle:",
}


@dataclass(frozen=True)
class Limits:
    """How much of a group one message lists; the chat's own limits are the renderer's business."""

    max_listed_alerts: int = 40
    alert_line_chars: int = 600
    labels_chars: int = 1500
    headline_chars: int = 150


def when(ts: Any) -> str:
    """A protobuf Timestamp as `2026-11-27 03:55:51 UTC`."""
    return str(ts.ToDatetime(tzinfo=UTC).strftime("%Y-%m-%d %H:%M:%S UTC"))


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


def tone(note: AlertNotification) -> str:
    """The message's colour, in words: resolved, or the severity (none when it is not a known one)."""
    if all_resolved(note):
        return "resolved"
    return note.severity if note.severity in TONES else "none"


def headline(note: AlertNotification) -> str:
    """`FIRING [critical] HighErrorRatio, PetstoreDown`: also the notification fallback text."""
    state = "RESOLVED" if all_resolved(note) else "FIRING"
    names = ", ".join(alert_names(note))
    return f"{state} [{note.severity}] {names}"


def _alert_line(alert: AlertInstance, common: dict[str, str], limits: Limits) -> Line:
    name = alert.labels.get("alertname", "(no alertname)")
    own = {k: v for k, v in sorted(alert.labels.items()) if common.get(k) != v}
    text = alert.annotations.get("summary") or alert.annotations.get("description") or ""
    parts = [f"*{name}*"]
    if own:
        parts.append(" ".join(f"`{k}={v}`" for k, v in own.items()))
    if text:
        parts.append(text.replace("\n", " "))
    parts.append(f"since {when(alert.starts_at)}")
    body = cut(" · ".join(parts), limits.alert_line_chars)
    if alert.status == "resolved":
        ended = f" at {when(alert.ends_at)}" if alert.HasField("ends_at") else ""
        # Strike each line on its own: ~…~ does not span newlines or cut formatting.
        body = f"~{body.replace('~', '')}~ :white_check_mark: resolved{ended}"
    else:
        body = f":fire: {body}"
    return Line(body, Link("graph", alert.generator_url) if alert.generator_url else None)


def alert_doc(
    note: AlertNotification, *, ref: str, silence: ChatSilence | None = None, limits: Limits | None = None
) -> Doc:
    """One message for one notification; `ref` is the button value that finds the group again."""
    limits = limits or Limits()
    common = dict(note.common_labels)
    icon = ":white_check_mark:" if all_resolved(note) else SEVERITY_ICON.get(note.severity, ":bell:")
    parts: list[Lines] = []
    summary = note.common_annotations.get("summary", "")
    description = note.common_annotations.get("description", "")
    about = tuple(Line(p) for p in (f"*{summary}*" if summary else "", description) if p)
    if about:
        parts.append(Lines(about))
    if common:
        labels = " ".join(f"`{k}={v}`" for k, v in sorted(common.items()))
        parts.append(Lines((Line(cut(f"*Labels:* {labels}", limits.labels_chars)),)))
    listed = note.alerts[: limits.max_listed_alerts]
    left_out = len(note.alerts) - len(listed) + note.truncated_alerts
    parts.append(Lines(tuple(_alert_line(a, common, limits) for a in listed), more=left_out))

    firing, resolved = counts(note)
    status = f"{firing} firing, {resolved} resolved"
    am = Link("Alertmanager", f"{note.external_url}/#/alerts") if note.external_url else None
    footer: list[Note | Buttons] = [Note(f"{status} · group `{cut(note.group_key, 300)}`", am)]
    if silence is not None:
        until = silence.until.ToDatetime(tzinfo=UTC).strftime("%Y-%m-%d %H:%M UTC")
        link = Link("silence", silence.url) if silence.url else None
        footer.append(Note((":no_bell: Silenced by ", Mention(silence.user_id), f" until {until}"), link))
    if not all_resolved(note):
        buttons = (Button(SILENCE_1H, "Silence 1h", ref), Button(SILENCE_4H, "Silence 4h", ref))
        footer.append(Buttons(buttons))
    return Doc(
        cut(f"{icon} {headline(note)}", limits.headline_chars),
        tuple(parts),
        footer=tuple(footer),
        mark=Mark(tone(note), status),
    )


def update_reply(note: AlertNotification) -> Doc:
    """The short thread reply posted when a later notification updates the message."""
    firing, resolved = counts(note)
    if all_resolved(note):
        return Doc(f":white_check_mark: Resolved: all {resolved} alert(s) of this group.")
    return Doc(f":arrows_counterclockwise: Update: {firing} firing, {resolved} resolved.")


def silence_reply(silence: ChatSilence) -> Doc:
    """The thread reply after a silence button worked."""
    until = silence.until.ToDatetime(tzinfo=UTC).strftime("%Y-%m-%d %H:%M UTC")
    return Doc("", (Para((":no_bell: ", Mention(silence.user_id), f" silenced this group until {until}.")),))
