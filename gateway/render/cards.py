"""Pure renderers for alert cards' commands: an ack or unack, and the timeline (a thread message and
the same as Markdown for a post-mortem)."""

from __future__ import annotations

from datetime import UTC

from chatops import actors
from chatops.v1 import cards_pb2 as pb
from gateway.render.doc import Attachment, Doc, Line, Lines, Mention, Moment, Para, Span, Text

KIND = {
    pb.TIMELINE_KIND_ALERT: ("alert", ":rotating_light:"),
    pb.TIMELINE_KIND_ACK: ("ack", ":eyes:"),
    pb.TIMELINE_KIND_SILENCE: ("silence", ":no_bell:"),
    pb.TIMELINE_KIND_COMMAND: ("command", ":keyboard:"),
    pb.TIMELINE_KIND_DEPLOY: ("deploy", ":rocket:"),
}


def _who(actor: str, name: str) -> tuple[Span, ...]:
    user = actors.slack_user(actor)
    if user:
        return (Mention(user),)
    return (f"`{name or actor or 'someone'}`",)


def _card(reply: pb.AckAlertReply) -> str:
    names = ", ".join(reply.alertnames) or "the alert"
    return f"{names} (`{reply.short_ref}`)"


def _since(reply: pb.AckAlertReply) -> tuple[Span, ...]:
    return (", ", Moment(reply.time.ToDatetime(tzinfo=UTC))) if reply.HasField("time") else ()


def ack_reply(reply: pb.AckAlertReply) -> Doc:
    """What an ack or unack did, for whoever asked (in chat, or under the card after a click)."""
    card = _card(reply)
    text: Text
    if reply.outcome == pb.ACK_OUTCOME_ACKED:
        text = (
            ":eyes: ",
            *_who(reply.actor, reply.actor_name),
            f" acknowledged {card}: it is not re-announced.",
        )
    elif reply.outcome == pb.ACK_OUTCOME_ALREADY_ACKED:
        text = (
            f"{card} is already acknowledged by ",
            *_who(reply.actor, reply.actor_name),
            *_since(reply),
            ".",
        )
    elif reply.outcome == pb.ACK_OUTCOME_UNACKED:
        text = f"The ack of {card} is taken back: it is re-announced again while it fires."
    elif reply.outcome == pb.ACK_OUTCOME_NOT_ACKED:
        text = f"{card} is not acknowledged: there is no ack to take back."
    else:
        text = f"Nothing to acknowledge: every alert of {card} is resolved."
    return Doc("", (Para(text),))


def _clock(entry: pb.TimelineEntry) -> str:
    return entry.time.ToDatetime(tzinfo=UTC).strftime("%H:%M:%S")


def _name(entry: pb.TimelineEntry) -> str:
    return entry.actor_name or entry.actor


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(reply: pb.TimelineReply) -> str:
    """The timeline as a Markdown table, for a post-mortem document."""
    since = reply.since.ToDatetime(tzinfo=UTC).strftime("%Y-%m-%d %H:%M UTC")
    about = f" — {reply.alert}" if reply.alert else ""
    lines = [f"# Timeline since {since}{about}", ""]
    if not reply.entries:
        return "\n".join([*lines, "Nothing happened in this window.", ""])
    lines += ["| time (UTC) | what | who | |", "|---|---|---|---|"]
    for entry in reply.entries:
        kind = KIND.get(entry.kind, ("?", ""))[0]
        lines.append(f"| {_clock(entry)} | {kind} | {_cell(_name(entry))} | {_cell(entry.summary)} |")
    lines.append("")
    lines += _left_out(reply)
    return "\n".join(lines)


def _left_out(reply: pb.TimelineReply) -> list[str]:
    out = []
    if reply.omitted:
        out.append(f"{reply.omitted} later events are not listed (the limit).")
    if reply.cut_short:
        out.append(
            "A log held more events in this window than one search reads: the newest were not reached."
        )
    return out


def timeline(reply: pb.TimelineReply) -> Doc:
    """The entries as lines in the thread, and as Markdown attached (`chatops ask` prints that)."""
    since = reply.since.ToDatetime(tzinfo=UTC)
    about = f" for {reply.alert}" if reply.alert else ""
    title = f"Timeline{about} since {since.strftime('%Y-%m-%d %H:%M UTC')}: {len(reply.entries)} events"
    lines = []
    for entry in reply.entries:
        icon = KIND.get(entry.kind, ("?", ""))[1]
        who = f" — {_name(entry)}" if _name(entry) else ""
        lines.append(Line(f"{icon} {_clock(entry)} {entry.summary}{who}"))
    parts: list[Lines | Para] = [Lines(tuple(lines))] if lines else [Para("Nothing happened in this window.")]
    parts += [Para(text) for text in _left_out(reply)]
    attachment = Attachment(
        f"timeline-{since:%Y%m%d-%H%M}.md", markdown(reply), f"Timeline{about} (Markdown)"
    )
    return Doc(title, tuple(parts), attachment=attachment)
