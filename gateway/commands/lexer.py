"""Turn chat text into words and `key=value` options, undoing Slack's markup on the way."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

# <@U123>, <@U123|name>, <#C123|general>, <!here>: references Slack inserts into text.
_REFERENCE = re.compile(r"<([@#!][^<>|]*)(?:\|([^<>]*))?>")
# <http://host/trace/ID|ID>, <mailto:x|y>, <ID>: links Slack makes of anything URL-like.
_LINK = re.compile(r"<([^<>@#!|][^<>|]*)(?:\|([^<>]*))?>")
_TRACE_LINK = re.compile(r"^[a-z]+://[^/\s]+/(?:.*/)?trace/[0-9a-fA-F]{16,32}/?(?:[?#]\S*)?$")
# One option: key=value, where value is [a, b], "quoted text", or one word.
_OPTION = re.compile(r'\s*([A-Za-z_][\w.-]*)=(\[[^\]]*\]|"[^"]*"|\S*)')


class LexError(ValueError):
    """Text that cannot be split into words and options; the message says where."""


def unlink(text: str) -> str:
    """Replace Slack link markup with what the user typed; keep user mentions as `<@U…>`."""

    def link(m: re.Match[str]) -> str:
        target, label = m.group(1), m.group(2)
        # A link to a trace keeps its target, so the id survives a label like "open".
        if not label or _TRACE_LINK.search(target):
            return target
        return label

    def reference(m: re.Match[str]) -> str:
        # A user mention is kept so that `user=@someone` can still name the user id.
        return f"<{m.group(1)}>" if m.group(1).startswith("@") else (m.group(2) or m.group(1))

    text = _LINK.sub(link, text)
    text = _REFERENCE.sub(reference, text)
    return html.unescape(text)


def normalise(text: str) -> str:
    """Markup undone, control characters turned to spaces, runs of white space collapsed."""
    text = unlink(text)
    text = "".join(" " if (ord(c) < 32 or 0x7F <= ord(c) < 0xA0) else c for c in text)
    return " ".join(text.split())


@dataclass(frozen=True)
class Options:
    """The `key=value` options of a command, in the order given."""

    pairs: tuple[tuple[str, str], ...]


def short(text: str, limit: int = 60) -> str:
    """Text quoted back to the user, cut so a pasted novel does not come back whole."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def options(text: str) -> Options:
    """Split `a=1 tags=[x, y] b="two words"` into pairs; anything else is a LexError."""
    pairs: list[tuple[str, str]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _OPTION.match(text, pos)
        if not m:
            word = text[pos:].split()[0]
            raise LexError(f"I don't understand `{short(word)}`: options look like `name=value`")
        key, value = m.group(1).lower(), m.group(2)
        if value.startswith('"') and value.endswith('"') and len(value) >= 2:
            value = value[1:-1]
        pairs.append((key, value))
        pos = m.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return Options(tuple(pairs))


def split_list(value: str) -> tuple[str, ...]:
    """`[a, b]` or `a,b` -> ("a", "b"); empty items dropped."""
    value = value.strip()
    if value.startswith("["):
        if not value.endswith("]"):
            raise LexError(f"`{short(value)}` opens `[` but never closes it; write it like `[a,b]`")
        value = value[1:-1]
    elif value.endswith("]"):
        raise LexError(f"`{short(value)}` closes `]` but never opens it; write it like `[a,b]`")
    return tuple(v.strip() for v in value.split(",") if v.strip())
