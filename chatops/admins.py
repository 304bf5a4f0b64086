"""Who may run commands that change things: CHATOPS_ADMINS entries, matched against actors in full.

An entry is an actor `<namespace>:<id>` (`slack:U024BE7LH`, `console:alice`). A bare entry is taken
as a Slack user id: `U024BE7LH` means `slack:U024BE7LH` and never matches `console:U024BE7LH`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from chatops import actors

_SLACK_ID = re.compile(r"^[A-Z0-9]+$")


class AdminEntryError(ValueError):
    """A CHATOPS_ADMINS entry that is neither an actor nor a Slack user id."""


def normalise(entry: str) -> str:
    """`slack:U1` and `console:alice` as given; a bare Slack id `U1` -> `slack:U1`."""
    entry = entry.strip()
    if actors.is_actor(entry):
        return entry
    if _SLACK_ID.match(entry):
        return actors.slack(entry)
    raise AdminEntryError(
        f"{entry!r} is neither an actor like slack:U024BE7LH or console:alice "
        "nor a Slack user id like U024BE7LH"
    )


def normalise_all(entries: Iterable[str]) -> tuple[str, ...]:
    """Every entry normalised, in order, repeats dropped; AdminEntryError names the first bad one."""
    return tuple(dict.fromkeys(normalise(e) for e in entries if e.strip()))


def is_admin(actor: str, admins: Iterable[str]) -> bool:
    """The actor is listed, compared in full after normalising the list; an empty list admits nobody."""
    for entry in admins:
        try:
            if normalise(entry) == actor:
                return True
        except AdminEntryError:
            continue  # refused at start-up by the settings; here it simply admits nobody
    return False
