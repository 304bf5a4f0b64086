"""Match chat text against the command table: text -> Request, HelpRequest or UsageError (pure)."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from google.protobuf.message import Message

from chatops.contract import Command
from gateway.commands.lexer import normalise, short
from gateway.commands.table import BY_PHRASE, SPECS, Spec

_LEADING_MENTION = re.compile(r"^(?:<@[A-Z0-9]+>\s*)+")
MAX_TEXT = 4000  # Slack's own cap on a message is 40k; no command needs more than this


@dataclass(frozen=True)
class Request:
    """A parsed command, ready for the bus: `message` is the chatops.v1 request of `command`."""

    spec: Spec
    command: Command[Any, Any]
    message: Message
    text: str


@dataclass(frozen=True)
class HelpRequest:
    """`help` (topic None) or `help <command>`."""

    topic: Spec | None


@dataclass(frozen=True)
class UsageError:
    """What was wrong with the text, and the right form."""

    problem: str
    usage: tuple[str, ...] = ()
    hint: str = "Say `help` to see every command."

    @property
    def text(self) -> str:
        lines = [self.problem]
        if self.usage:
            lines.append("Usage: " + " | ".join(f"`{u}`" for u in self.usage))
        if self.hint:
            lines.append(self.hint)
        return "\n".join(lines)


Parsed = Request | HelpRequest | UsageError


def parse(text: str, *, now: datetime | None = None) -> Parsed:
    """Parse one chat message (the bot's mention already removed or not); never raises."""
    now = now or datetime.now(UTC)
    if len(text) > MAX_TEXT:
        return UsageError(f"That message is too long for a command ({len(text)} characters).")
    words = _LEADING_MENTION.sub("", normalise(text)).split(" ")
    words = [w for w in words if w]
    if not words:
        return HelpRequest(None)
    spec = match(words)
    if spec is None:
        return _unknown(words)
    rest = " ".join(words[len(spec.words) :])
    if spec.build is None or spec.command is None:
        return _help(rest)
    try:
        message = spec.build(rest, now)
    except ValueError as exc:
        return UsageError(str(exc), (spec.usage,), f"Say `help {spec.phrase}` for the options.")
    except OverflowError:
        return UsageError("A time in that command is out of range.", (spec.usage,))
    return Request(spec, spec.command, message, " ".join(words))


def match(words: list[str]) -> Spec | None:
    """The spec whose phrase starts `words` (case-insensitive); the longest phrase wins."""
    lowered = [w.lower() for w in words]
    best: Spec | None = None
    for spec in SPECS:
        n = len(spec.words)
        if tuple(lowered[:n]) == spec.words and (best is None or n > len(best.words)):
            best = spec
    return best


def _help(rest: str) -> Parsed:
    topic = " ".join(rest.lower().split())
    if not topic:
        return HelpRequest(None)
    spec = match(topic.split())
    if spec is not None:
        return HelpRequest(spec)
    guess = closest(topic)
    problem = f"I have no command called `{short(topic)}`."
    if guess:
        problem += f" Did you mean `{guess}`?"
    return UsageError(problem, ("help [command]",))


def _unknown(words: list[str]) -> UsageError:
    said = " ".join(words[:3])
    shown = short(said)
    guess = closest(" ".join(words[:2]).lower()) if len(words) > 1 else None
    starts = [s.phrase for s in SPECS if s.words[0] == words[0].lower()]
    if not guess and len(starts) > 1:
        options = ", ".join(f"`{p}`" for p in starts)
        return UsageError(f"`{words[0]}` what? I know {options}.", tuple(BY_PHRASE[p].usage for p in starts))
    guess = guess or closest(words[0].lower())
    if guess:
        return UsageError(f"I don't know `{shown}`. Did you mean `{guess}`?", (BY_PHRASE[guess].usage,))
    return UsageError(f"I don't know `{shown}`.")


def _candidates() -> dict[str, str]:
    """Phrases, and first words that belong to one phrase only ("list" -> "list traces")."""
    firsts: dict[str, list[str]] = {}
    for spec in SPECS:
        firsts.setdefault(spec.words[0], []).append(spec.phrase)
    found = {first: phrases[0] for first, phrases in firsts.items() if len(phrases) == 1}
    found.update({s.phrase: s.phrase for s in SPECS})
    return found


_CANDIDATES = _candidates()


def closest(text: str) -> str | None:
    """The command phrase nearest to `text`, if any is reasonably near."""
    found = difflib.get_close_matches(text, list(_CANDIDATES), n=1, cutoff=0.6)
    return _CANDIDATES[found[0]] if found else None
