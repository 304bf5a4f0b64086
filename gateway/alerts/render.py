"""Pure rendering of an AlertNotification as the renderer's document: one message, thread replies."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from typing import Any

from chatops.cardref import firing
from chatops.v1.events_pb2 import AlertInstance, AlertNotification
from chatops.v1.records_pb2 import ChatSilence
from gateway.alerts.card import CardView, Key, ack_note, changes_para, silence_note
from gateway.render.doc import Button, Buttons, Doc, Line, Lines, Link, Mark, Mention, Note, Para, Part, cut

SILENCE_1H = "chatops_silence_1h"
SILENCE_4H = "chatops_silence_4h"
SILENCE_HOURS = {SILENCE_1H: 1, SILENCE_4H: 4}
ACK = "chatops_ack"
UNACK = "chatops_unack"
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


def key_of(alert: AlertInstance) -> Key:
    return firing(alert.fingerprint, alert.starts_at)


def _resolved(alert: AlertInstance, view: CardView | None) -> bool:
    return alert.status == "resolved" or (view is not None and view.resolved_at(key_of(alert)) is not None)


def counts(note: AlertNotification, view: CardView | None = None) -> tuple[int, int]:
    """(firing, resolved) among the alerts sent, plus those Alertmanager left out counted as firing;
    an alert the silence watcher saw resolve (in `view`) counts as resolved."""
    resolved = sum(1 for a in note.alerts if _resolved(a, view))
    return len(note.alerts) - resolved + note.truncated_alerts, resolved


def all_resolved(note: AlertNotification, view: CardView | None = None) -> bool:
    firing, _ = counts(note, view)
    return firing == 0 and (note.status == "resolved" or (view is not None and bool(view.resolved)))


def tone(note: AlertNotification, view: CardView | None = None) -> str:
    """The message's colour, in words: resolved, or the severity (none when it is not a known one)."""
    if all_resolved(note, view):
        return "resolved"
    return note.severity if note.severity in TONES else "none"


def headline(note: AlertNotification, view: CardView | None = None) -> str:
    """`FIRING [critical] HighErrorRatio, PetstoreDown`: also the notification fallback text."""
    state = "RESOLVED" if all_resolved(note, view) else "FIRING"
    names = ", ".join(alert_names(note))
    return f"{state} [{note.severity}] {names}"


def _alert_line(alert: AlertInstance, common: dict[str, str], limits: Limits, view: CardView | None) -> Line:
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
    silenced_end = (
        view.resolved_at(key_of(alert)) if view is not None and alert.status != "resolved" else None
    )
    if alert.status == "resolved" or silenced_end is not None:
        if silenced_end is not None:
            ended = f" while silenced (seen {silenced_end.strftime('%Y-%m-%d %H:%M:%S UTC')})"
        else:
            ended = f" at {when(alert.ends_at)}" if alert.HasField("ends_at") else ""
        # Strike each line on its own: ~…~ does not span newlines or cut formatting.
        body = f"~{body.replace('~', '')}~ :white_check_mark: resolved{ended}"
    else:
        body = f":fire: {body}"
    return Line(body, Link("graph", alert.generator_url) if alert.generator_url else None)


def alert_doc(
    note: AlertNotification,
    *,
    ref: str,
    silence: ChatSilence | None = None,
    limits: Limits | None = None,
    view: CardView | None = None,
) -> Doc:
    """One card for one notification; `ref` is the button value that finds the group again, `view`
    what the card shows besides the notification (acks, silences, recent changes)."""
    limits = limits or Limits()
    common = dict(note.common_labels)
    done = all_resolved(note, view)
    icon = ":white_check_mark:" if done else SEVERITY_ICON.get(note.severity, ":bell:")
    parts: list[Part] = []
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
    parts.append(Lines(tuple(_alert_line(a, common, limits, view) for a in listed), more=left_out))
    changes = changes_para(view) if view is not None else None
    if changes is not None:
        parts.append(changes)

    firing, resolved = counts(note, view)
    status = f"{firing} firing, {resolved} resolved"
    am = Link("Alertmanager", f"{note.external_url}/#/alerts") if note.external_url else None
    named = f" · ref `{view.short}`" if view is not None else ""
    footer: list[Note | Buttons] = [Note(f"{status}{named} · group `{cut(note.group_key, 300)}`", am)]
    if view is not None and view.ack is not None:
        footer.append(ack_note(view.ack))
    shown = {s.silence_id for s in view.silences} if view is not None else set()
    if not done:
        footer.extend(silence_note(s, firing) for s in (view.silences if view is not None else ()))
    if silence is not None and silence.silence_id not in shown and not done:
        until = silence.until.ToDatetime(tzinfo=UTC).strftime("%Y-%m-%d %H:%M UTC")
        link = Link("silence", silence.url) if silence.url else None
        footer.append(Note((":no_bell: Silenced by ", Mention(silence.user_id), f" until {until}"), link))
    if not done:
        acked = view is not None and view.ack is not None
        buttons = (
            Button(UNACK, "Unack", ref) if acked else Button(ACK, "Ack", ref, primary=True),
            Button(SILENCE_1H, "Silence 1h", ref),
            Button(SILENCE_4H, "Silence 4h", ref),
        )
        footer.append(Buttons(buttons))
    return Doc(
        cut(f"{icon} {headline(note, view)}", limits.headline_chars),
        tuple(parts),
        footer=tuple(footer),
        mark=Mark(tone(note, view), status),
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
