"""A chat-neutral message document: what to say, before it becomes Slack blocks or console text."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta


@dataclass(frozen=True)
class Mention:
    """Someone, by chat user id: the only way a message can mention (ping) a person.

    Every `str` in a Doc is data, shown as sent, whoever wrote it: a `<@U…>`, `<!channel>` or link
    markup typed by a user or carried by an alert reaches the chat as inert text. A renderer shows a
    Mention as a mention only when `user` is a well-formed user id.
    """

    user: str


@dataclass(frozen=True)
class Group:
    """A user group, by chat id (Slack's S…): the only group ping, and only from configuration.

    Never built from alert data or user text: the gateway makes one only of ONCALL_USERGROUP.
    """

    id: str


@dataclass(frozen=True)
class Moment:
    """A point in time a chat shows in each reader's terms ("3 minutes ago"); a console as UTC."""

    at: datetime


Span = str | Mention | Group | Moment
# Prose: plain data, or data, mentions and moments in order.
Text = str | tuple[Span, ...]


def spans(text: Text) -> tuple[Span, ...]:
    """The pieces of `text`, in order."""
    return (text,) if isinstance(text, str) else text


@dataclass(frozen=True)
class Para:
    """A paragraph; `code` spans in backticks and *bold* survive both renderers."""

    text: Text


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


@dataclass(frozen=True)
class Line:
    """One line of data, optionally ending in a link."""

    text: str
    link: Link | None = None


@dataclass(frozen=True)
class Lines:
    """Lines of data, shown as sent and packed tightly; `more` counts lines left out before rendering."""

    lines: tuple[Line, ...]
    more: int = 0


@dataclass(frozen=True)
class Note:
    """Small print, e.g. who did what; may end in a link."""

    text: Text
    link: Link | None = None


@dataclass(frozen=True)
class Button:
    """A button; a click comes back as `action` with `value`."""

    action: str
    label: str
    value: str
    primary: bool = False


@dataclass(frozen=True)
class Buttons:
    """A row of buttons."""

    buttons: tuple[Button, ...]


@dataclass(frozen=True)
class Mark:
    """A coloured mark beside the whole message: `tone` picks the colour, `text` says it in words."""

    tone: str  # critical, warning, info, resolved, none
    text: str


Part = Para | Fields | Table | Link | Links | Lines | Note | Buttons


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
class Attachment:
    """A text file that goes with a reply, e.g. a timeline as Markdown for a post-mortem."""

    filename: str
    text: str
    title: str

    def __repr__(self) -> str:
        return f"Attachment({self.filename!r}, {len(self.text)} characters)"


@dataclass(frozen=True)
class Doc:
    """A message: a title line (may be empty) and parts, perhaps a picture; `ok` False marks an error.

    `footer` parts come last and are always shown, even when the parts must be cut to fit.
    """

    title: str
    parts: tuple[Part, ...] = field(default=())
    ok: bool = True
    image: Image | None = None
    footer: tuple[Part, ...] = field(default=())
    mark: Mark | None = None
    attachment: Attachment | None = None


def cut(text: str, limit: int) -> str:
    """At most `limit` characters, ending in `…` when cut."""
    return text if len(text) <= limit else text[: max(0, limit - 1)] + "…"


def counted(n: int, one: str, many: str = "") -> str:
    """`1 trace`, `3 traces`: a count and its noun, singular for one; `many` for a plural that is
    not the noun and an s."""
    return f"{n} {one if n == 1 else (many or one + 's')}"


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
