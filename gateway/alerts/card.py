"""What an alert card shows besides the notification (pure): who acked it, its silences, the alerts
that resolved while silenced, recent deploys; and the thread notes about them."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from chatops import actors
from chatops.cardref import Firing, short_ref
from gateway.render.doc import Doc, Group, Link, Mention, Moment, Note, Para, Span, Text
from gateway.render.slack import SlackMessage
from gateway.render.text import utc

Key = Firing  # one firing of one alert
MAX_DEPLOYS = 5


@dataclass(frozen=True)
class Person:
    """Who did something: a chat user (mentioned) or a name that is data (shown in backticks)."""

    user: str = ""  # a Slack user id when the actor was slack:U…
    name: str = ""

    def spans(self) -> tuple[Span, ...]:
        if self.user:
            return (Mention(self.user),)
        return (f"`{self.name or 'someone'}`",)


def person(actor: str, name: str) -> Person:
    """`slack:U024BE7LH` is mentioned; anyone else (console:alice, nats:tools) by name."""
    user = actors.slack_user(actor)
    if user:
        return Person(user=user, name=name)
    return Person(name=name or actor)


@dataclass(frozen=True)
class Ack:
    by: Person
    at: datetime


@dataclass(frozen=True)
class SilenceShown:
    """A silence that mutes alerts of the card."""

    silence_id: str
    by: Person
    until: datetime
    url: str
    muted: int  # alerts of the card it mutes
    from_chat: bool  # made through ops (who asked is known), not with amtool or the UI


@dataclass(frozen=True)
class DeployShown:
    """A deploy of the card's service in the hour before it fired, as it stands now."""

    service: str
    change: str  # "0.1.0 → 0.2.0"
    by: Person
    outcome: str  # promoted, rolled back, failed, in progress
    at: datetime  # when it was requested


@dataclass(frozen=True)
class CardView:
    """What the card shows that is not in the notification; built from the bus (gateway/alerts/book.py)."""

    ref: str
    ack: Ack | None = None
    silences: tuple[SilenceShown, ...] = ()
    resolved: tuple[tuple[Key, datetime], ...] = ()  # alerts seen resolved while silenced, and when
    deploys: tuple[DeployShown, ...] = ()
    service: str = ""
    window: timedelta = field(default=timedelta(hours=1))

    @property
    def short(self) -> str:
        return short_ref(self.ref)

    def resolved_at(self, key: Key) -> datetime | None:
        return next((at for k, at in self.resolved if k == key), None)


def ack_note(ack: Ack) -> Note:
    return Note((":eyes: Acked by ", *ack.by.spans(), ", ", Moment(ack.at)))


def silence_note(silence: SilenceShown, firing: int) -> Note:
    share = f" · mutes {silence.muted} of {firing} firing" if silence.muted < firing else ""
    text: Text = (
        ":no_bell: Silenced by ",
        *silence.by.spans(),
        f" until {utc(Moment(silence.until))} (ends ",
        Moment(silence.until),
        f"){share}",
    )
    return Note(text, Link("silence", silence.url) if silence.url else None)


def changes_para(view: CardView) -> Para | None:
    """The service's deploys in the hour before the alert fired: the change most likely to blame."""
    if not view.deploys:
        return None
    minutes = int(view.window.total_seconds() // 60)
    spans: list[Span] = [f"*Recent changes to {view.service}* (the {minutes} min before it fired):"]
    for deploy in view.deploys[:MAX_DEPLOYS]:
        spans += [
            f"\n• {deploy.change} by ",
            *deploy.by.spans(),
            f": {deploy.outcome}, requested ",
            Moment(deploy.at),
        ]
    if len(view.deploys) > MAX_DEPLOYS:
        spans.append(f"\n… and {len(view.deploys) - MAX_DEPLOYS} more (`deploys`)")
    return Para(tuple(spans))


def digest(message: SlackMessage) -> str:
    """Which card a message shows: equal digests, the same card (no chat call needed)."""
    body = json.dumps([message.text, list(message.blocks), list(message.attachments)], sort_keys=True)
    return hashlib.sha256(body.encode()).hexdigest()[:32]


# -- thread notes ---------------------------------------------------------------------------------
def reannounce_doc(names: str, since: datetime, short: str, group: str) -> Doc:
    """Still firing and nobody is on it: said again, to the on-call group when there is one."""
    who: tuple[Span, ...] = (Group(group), " ") if group else ()
    text: Text = (
        ":rotating_light: ",
        *who,
        f"{names} is still firing and nobody has acknowledged it (posted ",
        Moment(since),
        f"). Ack it with the button on the card, or `ack {short}`.",
    )
    return Doc("", (Para(text),))


def expiring_doc(silence: SilenceShown) -> Doc:
    text: Text = (
        ":hourglass_flowing_sand: The silence by ",
        *silence.by.spans(),
        f" ends at {utc(Moment(silence.until))} (",
        Moment(silence.until),
        "): these alerts will notify again unless it is extended.",
    )
    return Doc("", (Para(text),))


def ended_doc(silence: SilenceShown) -> Doc:
    return Doc("", (Para((":bell: The silence by ", *silence.by.spans(), " has ended.")),))


def resolved_silenced_doc() -> Doc:
    return Doc(
        ":white_check_mark: Resolved while silenced (Alertmanager sends no notification for that; "
        "the silence watcher saw it go)."
    )
