"""Doc -> plain text for the console; with a Style, also the fallback text of chat messages."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC

from tabulate import tabulate

from gateway.render.doc import (
    Buttons,
    Doc,
    Fields,
    Group,
    Line,
    Lines,
    Link,
    Links,
    Mention,
    Moment,
    Note,
    Para,
    Part,
    Span,
    Table,
    Text,
    spans,
)


@dataclass(frozen=True)
class Style:
    """How data, mentions and links are written: as they are for a terminal, escaped for a chat."""

    data: Callable[[str], str]
    mention: Callable[[Mention], str]
    link: Callable[[Link], str]
    group: Callable[[Group], str] = field(default=lambda g: f"@{g.id}")
    moment: Callable[[Moment], str] = field(default=lambda m: utc(m))


def utc(moment: Moment) -> str:
    """`2026-11-30 00:32 UTC`."""
    return moment.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


PLAIN = Style(
    data=lambda s: s, mention=lambda m: f"@{m.user}", link=lambda target: f"{target.label}: {target.url}"
)


def _span(span: Span, style: Style) -> str:
    if isinstance(span, Mention):
        return style.mention(span)
    if isinstance(span, Group):
        return style.group(span)
    if isinstance(span, Moment):
        return style.moment(span)
    return style.data(span)


def prose(text: Text, style: Style = PLAIN) -> str:
    """Data, mentions and moments, in order."""
    return "".join(_span(s, style) for s in spans(text))


def _line(text: str, link: Link | None, style: Style) -> str:
    return f"{text} ({style.link(link)})" if link is not None else text


def part_text(part: Part, style: Style = PLAIN) -> str:
    """One part as plain text ("" for what only a chat can show, such as buttons)."""
    data = style.data
    if isinstance(part, Para):
        return prose(part.text, style)
    if isinstance(part, Fields):
        width = max((len(k) for k, _ in part.pairs), default=0)
        return data("\n".join(f"{k.ljust(width)}  {v}" for k, v in part.pairs))
    if isinstance(part, Table):
        return data(tabulate(part.rows, headers=part.headers, tablefmt="simple", disable_numparse=True))
    if isinstance(part, Links):
        return "\n".join(style.link(link) for link in part.links)
    if isinstance(part, Lines):
        more = [f"… and {part.more} more"] if part.more else []
        return "\n".join([*(_line(data(line.text), line.link, style) for line in part.lines), *more])
    if isinstance(part, Note):
        return _line(prose(part.text, style), part.link, style)
    if isinstance(part, Buttons):
        return ""
    return style.link(part)


def to_text(doc: Doc, style: Style = PLAIN) -> str:
    """The whole doc: title, then each part separated by a blank line, then what the picture is."""
    texts = [style.data(doc.title), *(part_text(p, style) for p in (*doc.parts, *doc.footer))]
    if doc.image is not None:
        size = f"{doc.image.width}x{doc.image.height} " if doc.image.width else ""
        texts.append(style.data(f"[picture: {doc.image.filename}, {size}PNG]"))
    return "\n\n".join(t for t in texts if t)


__all__ = ["PLAIN", "Line", "Link", "Style", "part_text", "prose", "to_text"]
