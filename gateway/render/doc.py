"""A chat-neutral reply document: what to say, before it becomes Slack blocks or console text."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta


@dataclass(frozen=True)
class Para:
    """A paragraph; `code` spans in backticks and *bold* survive both renderers."""

    text: str


@dataclass(frozen=True)
class Fields:
    """Short label/value pairs."""

    pairs: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Table:
    """Rows under headers; shown monospaced."""

    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Link:
    """A link with a label."""

    label: str
    url: str


@dataclass(frozen=True)
class Links:
    """Several links on one line."""

    links: tuple[Link, ...]


Part = Para | Fields | Table | Link | Links


@dataclass(frozen=True)
class Image:
    """A picture that goes with a reply: PNG bytes, the file name to give it, and a text alternative."""

    data: bytes
    filename: str
    alt: str
    width: int = 0
    height: int = 0

    def __repr__(self) -> str:  # the bytes would flood any log or assertion message
        return f"Image({self.filename!r}, {len(self.data)} bytes)"


@dataclass(frozen=True)
class Doc:
    """A reply: a title line and parts, perhaps a picture; `ok` False marks an error or refusal."""

    title: str
    parts: tuple[Part, ...] = field(default=())
    ok: bool = True
    image: Image | None = None


def when(moment: datetime | None) -> str:
    """A UTC time as `2026-01-02 15:04:05`, or `-` when unknown."""
    if moment is None:
        return "-"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def took(span: timedelta) -> str:
    """`350ms`, `1.25s`, `2m03s`, `1h02m`."""
    seconds = span.total_seconds()
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.2f}s"
    minutes, sec = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{sec:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"
