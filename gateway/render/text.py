"""Doc -> plain text for the console (and the fallback text of Slack messages)."""

from __future__ import annotations

from tabulate import tabulate

from gateway.render.doc import Buttons, Doc, Fields, Line, Lines, Link, Links, Note, Para, Part, Table


def _line(text: str, link: Link | None) -> str:
    return f"{text} ({link.label}: {link.url})" if link is not None else text


def part_text(part: Part) -> str:
    """One part as plain text ("" for what only a chat can show, such as buttons)."""
    if isinstance(part, Para):
        return part.text
    if isinstance(part, Fields):
        width = max((len(k) for k, _ in part.pairs), default=0)
        return "\n".join(f"{k.ljust(width)}  {v}" for k, v in part.pairs)
    if isinstance(part, Table):
        return tabulate(part.rows, headers=part.headers, tablefmt="simple", disable_numparse=True)
    if isinstance(part, Links):
        return "\n".join(f"{link.label}: {link.url}" for link in part.links)
    if isinstance(part, Lines):
        more = [f"… and {part.more} more"] if part.more else []
        return "\n".join([*(_line(line.text, line.link) for line in part.lines), *more])
    if isinstance(part, Note):
        return _line(part.text, part.link)
    if isinstance(part, Buttons):
        return ""
    return f"{part.label}: {part.url}"


def to_text(doc: Doc) -> str:
    """The whole doc: title, then each part separated by a blank line, then what the picture is."""
    texts = [doc.title, *(part_text(p) for p in (*doc.parts, *doc.footer))]
    if doc.image is not None:
        size = f"{doc.image.width}x{doc.image.height} " if doc.image.width else ""
        texts.append(f"[picture: {doc.image.filename}, {size}PNG]")
    return "\n\n".join(t for t in texts if t)


__all__ = ["Line", "Link", "part_text", "to_text"]
