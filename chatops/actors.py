"""Actors: who a command runs as, written `<kind>:<id>` (`slack:U024BE7LH`, `console:alice`, `nats:tools`).

The kind says where the actor comes from: a Slack user (the gateway), a person at a shell (`chatops ask`),
or a NATS identity acting as itself. Every actor in the code is built and taken apart here.
"""

from __future__ import annotations

import os
import pwd
import re

# A lower-case kind, then an id with no space, colon or comma (CHATOPS_ADMINS is a comma-separated list).
_ACTOR = re.compile(r"[a-z][a-z0-9_-]*:[^\s:,]+")

SLACK = "slack"
CONSOLE = "console"
NATS = "nats"


def slack(user: str) -> str:
    """The actor of a Slack user id: `U024BE7LH` -> `slack:U024BE7LH`."""
    return f"{SLACK}:{user}"


def console(user: str) -> str:
    """The actor of a person at a shell: `alice` -> `console:alice`; an actor is kept as it is."""
    return user if ":" in user else f"{CONSOLE}:{user}"


def shell_user() -> str:
    """The login of whoever runs this process, from the password database (not $USER, which any
    caller sets): the id of its `console:` actor."""
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return str(os.getuid())


def nats(identity: str) -> str:
    """The actor of a NATS identity acting as itself: `tools` -> `nats:tools`."""
    return f"{NATS}:{identity}"


def is_actor(text: str) -> bool:
    """`text` is an actor as written: `slack:U024BE7LH`, `console:alice`, `ci-bot:deploy`."""
    return _ACTOR.fullmatch(text) is not None


def split(actor: str) -> tuple[str, str]:
    """(kind, id) of an actor; ("", actor) when it has no kind."""
    kind, sep, ident = actor.partition(":")
    return (kind, ident) if sep else ("", actor)


def slack_user(actor: str) -> str:
    """The Slack user id of a `slack:` actor (which chat renders as a mention), "" for any other actor."""
    kind, ident = split(actor)
    return ident if kind == SLACK else ""


UNKNOWN = nats("unknown")  # a request whose sender the server did not name; never an admin
