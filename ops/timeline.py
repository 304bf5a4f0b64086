"""timeline.show: what happened around an incident, in order, from the event logs on the bus.

Each log (CHATOPS_ALERTS, CHATOPS_CARDS, CHATOPS_AUDIT, CHATOPS_DEPLOYS) is read from the start of
the window through one short-lived consumer, at most SCAN messages each, like `history`: a window
that holds more says so (`cut_short`) rather than reading without end. Entries are merged by time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from nats.aio.msg import Msg
from nats.js import JetStreamContext

from chatops import codec, logs
from chatops.cardref import group_ref, ref_prefix, short_ref
from chatops.codec import CodecError
from chatops.contract import TIMELINE_SHOW
from chatops.streamread import Read, read
from chatops.subjects import (
    ALERTS_PREFIX,
    ALERTS_STREAM,
    AUDIT_PREFIX,
    AUDIT_STREAM,
    CARDS_ACKS,
    CARDS_SILENCES,
    CARDS_STREAM,
    DEPLOYS_PREFIX,
    DEPLOYS_STREAM,
)
from chatops.v1 import audit_pb2, deploys_pb2
from chatops.v1 import cards_pb2 as pb
from chatops.v1.events_pb2 import AlertNotification

log = logs.get_logger(__name__)

SCAN = 5000  # messages read from each log at most
SUMMARY = 300  # characters of one entry's summary
_STEPS = {
    v.number: v.name.removeprefix("DEPLOY_STEP_").lower().replace("_", " ")
    for v in deploys_pb2.DeployStep.DESCRIPTOR.values
}
_CHANGES = {
    pb.SILENCE_CHANGE_CREATED: "made",
    pb.SILENCE_CHANGE_CHANGED: "changed",
    pb.SILENCE_CHANGE_ENDED: "ended",
}


@dataclass(frozen=True)
class Scope:
    """Which cards the timeline is about: every one, or those an alert name or ref names."""

    alert: str = ""

    def names(self, note: AlertNotification) -> bool:
        if not self.alert:
            return True
        prefix = ref_prefix(self.alert)
        if prefix is not None:
            return group_ref(note.group_key).startswith(prefix)
        return self.alert in {a.labels.get("alertname") for a in note.alerts} | {
            note.common_labels.get("alertname")
        }


def _ts(ns: int) -> datetime:
    return datetime.fromtimestamp(ns / 1e9, UTC)


def _clock(ts: object) -> str:
    return _ts(ts.ToNanoseconds()).strftime("%H:%M UTC")  # type: ignore[attr-defined]


def _entry(
    ns: int, kind: pb.TimelineKind, summary: str, *, actor: str = "", name: str = "", ref: str = ""
) -> pb.TimelineEntry:
    entry = pb.TimelineEntry(kind=kind, actor=actor, actor_name=name, summary=summary[:SUMMARY], ref=ref)
    entry.time.FromNanoseconds(ns)
    return entry


def _decode(msg: Msg, cls: type[codec.M]) -> codec.M | None:
    try:
        return codec.decode(msg.data or b"", cls)
    except CodecError:
        return None


def alert_entries(msgs: Iterable[Msg], scope: Scope) -> tuple[list[pb.TimelineEntry], dict[str, str]]:
    """Notifications in scope, and every alert fingerprint they carry -> its card's key."""
    entries, fingerprints = [], {}
    for msg in msgs:
        note = _decode(msg, AlertNotification)
        if note is None or not scope.names(note):
            continue
        ref = group_ref(note.group_key)
        names = sorted({a.labels.get("alertname", "?") for a in note.alerts}) or ["?"]
        firing = sum(1 for a in note.alerts if a.status == "firing") + note.truncated_alerts
        state = f"FIRING [{note.severity}]" if note.status == "firing" else "RESOLVED"
        summary = f"{state} {', '.join(names)}: {firing} firing, {len(note.alerts) - firing} resolved"
        at = note.received_at.ToNanoseconds() or int(msg.metadata.timestamp.timestamp() * 1e9)
        entries.append(_entry(at, pb.TIMELINE_KIND_ALERT, f"{summary} ({short_ref(ref)})", ref=ref))
        fingerprints.update({a.fingerprint: ref for a in note.alerts if a.fingerprint})
    return entries, fingerprints


def ack_entry(event: pb.AckEvent) -> pb.TimelineEntry:
    names = ", ".join(event.alertnames) or "the alert"
    what = "acknowledged" if event.acked else "took back the ack of"
    return _entry(
        event.time.ToNanoseconds(),
        pb.TIMELINE_KIND_ACK,
        f"{what} {names} ({short_ref(event.ref)})",
        actor=event.actor,
        name=event.actor_name,
        ref=event.ref,
    )


def silence_entries(event: pb.SilenceEvent, cards: dict[str, str]) -> list[pb.TimelineEntry]:
    """A silence's changes worth a line: made, changed, ended, and alerts it saw resolve."""
    matchers = ", ".join(f"{m.name}{_op(m)}{m.value}" for m in event.matchers)
    who = event.actor_name or event.created_by
    ns = event.time.ToNanoseconds()
    out = []
    for change in event.changes:
        if change in _CHANGES:
            until = f" until {_clock(event.ends_at)}" if change != pb.SILENCE_CHANGE_ENDED else ""
            out.append(
                _entry(
                    ns,
                    pb.TIMELINE_KIND_SILENCE,
                    f"silence {_CHANGES[change]}: {matchers}{until}",
                    actor=event.actor,
                    name=who,
                )
            )
    if pb.SILENCE_CHANGE_RESOLVED in event.changes:
        for alert in event.alerts:
            if alert.HasField("resolved_at") and alert.resolved_at.ToNanoseconds() == ns:
                ref = cards.get(alert.fingerprint, "")
                out.append(
                    _entry(
                        ns, pb.TIMELINE_KIND_SILENCE, f"{alert.alertname} resolved while silenced", ref=ref
                    )
                )
    return out


def _op(m: object) -> str:
    regex, equal = getattr(m, "is_regex", False), getattr(m, "is_equal", True)
    return ("=~" if equal else "!~") if regex else ("=" if equal else "!=")


def in_scope(event: pb.SilenceEvent, cards: dict[str, str], scope: Scope) -> bool:
    if not scope.alert:
        return True
    return any(a.fingerprint in cards for a in event.alerts) or any(
        m.name == "alertname" and m.value == scope.alert and m.is_equal and not m.is_regex
        for m in event.matchers
    )


def command_entry(event: audit_pb2.AuditEvent) -> pb.TimelineEntry:
    outcome = "ok" if event.outcome == "ok" else f"{event.outcome} {event.error_code}: {event.error}"
    arguments = "" if event.arguments in ("", "{}") else f" {event.arguments}"
    return _entry(
        event.time.ToNanoseconds(),
        pb.TIMELINE_KIND_COMMAND,
        f"{event.command}{arguments} → {outcome}",
        actor=event.actor,
        name=event.actor_name,
    )


def deploy_entry(event: deploys_pb2.DeployEvent) -> pb.TimelineEntry:
    change = f"{event.from_version} → {event.to_version}" if event.from_version else event.to_version
    reason = f": {event.reason}" if event.reason else ""
    return _entry(
        event.time.ToNanoseconds(),
        pb.TIMELINE_KIND_DEPLOY,
        f"{event.service} {change} {_STEPS.get(event.step, '?')}{reason}",
        actor=event.actor,
        name=event.actor_name,
    )


async def timeline(js: JetStreamContext, since_ns: int, scope: Scope, limit: int) -> pb.TimelineReply:
    """Every entry since `since_ns`, oldest first, at most `limit` (the newest are left out).

    Each log is in time order and each of its messages makes at least one entry, so the oldest `limit`
    entries come from the oldest `limit` messages of each log whose every message makes an entry: such
    a log is read no further (commands and deploys always; alerts when no alert is asked for). Card
    events are read further: a silence's change may make no entry, nor may a copy of an ack or a
    silence that ops appended again only to keep it past the stream's age limit (ops/cardkeeper.py).
    """
    listed = min(limit, SCAN)
    scoped = SCAN if scope.alert else listed

    async def log_of(stream: str, subject: str, most: int) -> Read:
        return await read(js, stream, subject, since_ns=since_ns, limit=most)

    alerts, acks, silences, audit, deploys = await asyncio.gather(
        log_of(ALERTS_STREAM, f"{ALERTS_PREFIX}.>", scoped),
        log_of(CARDS_STREAM, f"{CARDS_ACKS}.>", SCAN),
        log_of(CARDS_STREAM, f"{CARDS_SILENCES}.>", SCAN),
        log_of(AUDIT_STREAM, f"{AUDIT_PREFIX}.>", listed),
        log_of(DEPLOYS_STREAM, f"{DEPLOYS_PREFIX}.>", listed),
    )
    entries, cards = alert_entries(alerts.msgs, scope)
    refs = sorted(set(cards.values()) | {e.ref for e in entries})
    for msg in acks.msgs:
        ack = _decode(msg, pb.AckEvent)
        if ack is not None and not ack.HasField("renewed_at") and (not scope.alert or ack.ref in refs):
            entries.append(ack_entry(ack))
    for msg in silences.msgs:
        silence = _decode(msg, pb.SilenceEvent)
        if silence is not None and not silence.HasField("renewed_at") and in_scope(silence, cards, scope):
            entries.extend(silence_entries(silence, cards))
    for msg in audit.msgs:
        event = _decode(msg, audit_pb2.AuditEvent)
        if event is not None and event.command != TIMELINE_SHOW.name:
            entries.append(command_entry(event))
    for msg in deploys.msgs:
        deploy = _decode(msg, deploys_pb2.DeployEvent)
        if deploy is not None:
            entries.append(deploy_entry(deploy))
    logs = (alerts, acks, silences, audit, deploys)
    entries.sort(key=lambda e: e.time.ToNanoseconds())  # stable: one log's own order is kept
    # What was not read of a log read only as far as the limit is left out as well; a log that held
    # more than one search reads cuts the timeline short.
    read_to = list(zip(logs, (scoped, SCAN, SCAN, listed, listed), strict=True))
    reply = pb.TimelineReply(
        entries=entries[:limit],
        omitted=max(0, len(entries) - limit) + sum(r.left for r, most in read_to if most < SCAN),
        alert=scope.alert,
        refs=refs if scope.alert else [],
        cut_short=any(r.more for r, most in read_to if most >= SCAN),
    )
    reply.since.FromNanoseconds(since_ns)
    return reply
