"""Doc -> plain text for the console (and the fallback text of Slack messages)."""

from __future__ import annotations

from tabulate import tabulate

from gateway.render.doc import Doc, Fields, Link, Links, Para, Part, Table


def part_text(part: Part) -> str:
    """One part as plain text."""
    if isinstance(part, Para):
        return part.text
    if isinstance(part, Fields):
        width = max((len(k) for k, _ in part.pairs), default=0)
        return "\n".join(f"{k.ljust(width)}  {v}" for k, v in part.pairs)
    if isinstance(part, Table):
        return tabulate(part.rows, headers=part.headers, tablefmt="simple", disable_numparse=True)
    if isinstance(part, Links):
        return "\n".join(f"{link.label}: {link.url}" for link in part.links)
    return f"{part.label}: {part.url}"


def to_text(doc: Doc) -> str:
    """The whole doc: title, then each part separated by a blank line, then what the picture is."""
    lines = [doc.title, *(part_text(p) for p in doc.parts)]
    if doc.image is not None:
        size = f"{doc.image.width}x{doc.image.height} " if doc.image.width else ""
        lines.append(f"[picture: {doc.image.filename}, {size}PNG]")
    return "\n\n".join(lines)


__all__ = ["Link", "part_text", "to_text"]
