"""Pure renderers for the dead letters: the list, and what a replay did."""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp

from chatops.v1 import deadletters_pb2 as pb
from gateway.render.doc import Doc, Para, Part, Table, counted, cut, when

REASON_CHARS = 160


def _time(ts: Timestamp) -> datetime | None:
    return ts.ToDatetime(tzinfo=UTC) if ts.seconds or ts.nanos else None


def _alert(letter: pb.DeadLetter) -> str:
    """`FIRING [critical] HighErrorRatio`, or what the event was when it could not be read."""
    if not letter.HasField("notification"):
        return f"(unreadable, {len(letter.data)} bytes)"
    note = letter.notification
    names = dict.fromkeys(a.labels.get("alertname", "?") for a in note.alerts) or {"?": None}
    return f"{note.status.upper()} [{note.severity}] {', '.join(names)}"


def list_dead_letters(reply: pb.ListDeadLettersReply) -> Doc:
    if not reply.dead_letters:
        return Doc(
            "No dead letters: every alert notification reached chat."
            if not reply.waiting
            else "No dead letters match."
        )
    rows = tuple(
        (
            str(d.sequence),
            when(_time(d.dead_at)),
            _alert(d),
            d.channel or "-",
            cut(d.reason, REASON_CHARS),
            f"sent again by {d.replayed_by}" if d.replayed_by else "waiting",
        )
        for d in reply.dead_letters
    )
    parts: list[Part] = [Table(("id", "given up (UTC)", "alert", "channel", "why", "state"), rows)]
    if reply.omitted:
        parts.append(
            Para(f"… {reply.omitted} more not shown: the whole answer is too big to send over the bus.")
        )
    if reply.waiting:
        parts.append(
            Para(
                "Fix the cause, then `replay dead letters <id>` or `replay dead letters all` (admins) "
                "sends them again."
            )
        )
    return Doc(f"{counted(reply.waiting, 'dead letter')} waiting; newest first:", tuple(parts))


def replay_dead_letters(reply: pb.ReplayDeadLettersReply) -> Doc:
    sent = ", ".join(str(i) for i in reply.replayed)
    title = (
        f"Sent {len(reply.replayed)} dead letters to chat again: {sent}."
        if reply.replayed
        else "Nothing was sent again."
    )
    parts: list[Part] = [Para("Not sent: " + s) for s in reply.skipped]
    if reply.replayed:
        parts.append(
            Para("Each is shown like a new notification, unless its alert's message shows something newer.")
        )
    if reply.omitted:
        parts.append(Para(f"… {reply.omitted} more not shown."))
    return Doc(title, tuple(parts), ok=bool(reply.replayed) or not reply.skipped)
