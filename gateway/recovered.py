"""How a message taken over from a gateway that stopped is answered: the note under every answer, and
whether it is too late to ask to confirm a change (chat-neutral; the Slack handlers say it)."""

from __future__ import annotations

from dataclasses import dataclass

from chatops.v1.records_pb2 import JournalEntry
from gateway.render.doc import Doc, Note, Para

# Under an answer to a message taken over from a gateway that stopped: it may have answered already.
RECOVERED = (
    "Answered after a gateway restart: the gateway that took this message stopped before it was done. "
    "If an answer is above already, this one repeats it."
)


@dataclass(frozen=True)
class Recovered:
    """A message answered by another gateway than the one that took it.

    `late`: asked longer ago than a Confirm button stays valid (CHATOPS_CONFIRM_TTL), so no gateway
    ran for a while. Such a change is not asked again: the asker has moved on and what they saw when
    they asked may no longer hold; they are told it did not run and how to ask again. A question
    nobody can answer in time would also only expire. A read is still answered, as of now.
    `audited`: its refusal is in the audit log already (the entry says so), not to be written twice.
    """

    note: Note
    late: bool = False
    audited: bool = False


def recovered(entry: JournalEntry, now: float, late_after: float) -> Recovered:
    """How to answer a taken-over entry at `now` (seconds since the epoch)."""
    asked = entry.accepted_at.ToNanoseconds() / 1e9 if entry.HasField("accepted_at") else now
    age = max(0.0, now - asked)
    if age < late_after:
        return Recovered(Note(RECOVERED), audited=entry.audited)
    return Recovered(Note(late_text(age)), late=True, audited=entry.audited)


def late_text(age: float) -> str:
    """The note under a late answer: how long ago it was asked, and why it is answered only now."""
    return (
        f"Answered late: this was asked {ago(age)} ago, and the gateway was down meanwhile (the one that "
        "took it stopped before it was done, and none ran until now). If an answer is above already, "
        "this one repeats it."
    )


def ago(age: float) -> str:
    """`45 s`, `12 min`, `3 h 5 min`, `1 d 2 h`: how long ago, as people say it."""
    seconds = int(age)
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def late_change_doc(text: str, note: Note) -> Doc:
    """A change asked too long ago to ask to confirm it now: it was not run; how to ask again."""
    return Doc(
        f"`{text}` was not run: it was asked too long ago to ask you to confirm it now.",
        (Para(f"Things may have changed meanwhile. If it is still needed, send `{text}` again."),),
        ok=False,
        footer=(note,),
    )


def decided_doc(text: str, note: Note) -> Doc:
    """A change whose question was answered (confirmed or cancelled) before the gateway stopped."""
    return Doc(f"`{text}` was confirmed or cancelled already (see above).", footer=(note,))


def give_up_doc(text: str) -> Doc:
    """Said in the thread of a message every gateway stopped on: it will not be answered."""
    return Doc(
        "Sorry, I could not answer this: the gateway stopped every time it tried.",
        (Para(f"`{text}` was not run; send it again if it is still needed."),),
        ok=False,
    )
