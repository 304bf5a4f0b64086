"""Doc -> a Slack message: Block Kit blocks within Slack's limits, plus a plain-text fallback."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from tabulate import tabulate

from gateway.render.doc import Doc, Fields, Link, Links, Para, Part, Table
from gateway.render.text import to_text

MAX_BLOCKS = 50
MAX_SECTION = 3000
MAX_FIELD = 2000
MAX_FIELDS = 10
MAX_FALLBACK = 3000
FENCE = "```"

Block = dict[str, Any]
_MENTION = re.compile(r"&lt;@([A-Z0-9]+)&gt;")


@dataclass(frozen=True)
class SlackMessage:
    """What chat.postMessage / chat.update take: `text` (fallback) and `blocks`."""

    text: str
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class SlackUpload:
    """A file to share with a message (files.getUploadURLExternal, then files.completeUploadExternal)."""

    filename: str
    data: bytes
    title: str
    alt_text: str
    comment: str  # the message the file is shared with (mrkdwn)

    def __repr__(self) -> str:  # the bytes would flood any log or assertion message
        return f"SlackUpload({self.filename!r}, {len(self.data)} bytes)"


def escape(text: str) -> str:
    """Escape &, <, > as Slack requires, keeping user mentions `<@U…>`."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MENTION.sub(r"<@\1>", escaped)


def cut(text: str, limit: int) -> str:
    """At most `limit` characters, ending in `…` when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": cut(text, MAX_SECTION)}}


def _table_blocks(table: Table) -> list[tuple[Block, int]]:
    """Code-block sections of a table, each paired with the number of rows it shows."""
    lines = tabulate(table.rows, headers=table.headers, tablefmt="simple", disable_numparse=True).split("\n")
    header, body = lines[:2], lines[2:]
    budget = MAX_SECTION - 2 * len(FENCE) - 2
    out: list[tuple[Block, int]] = []
    chunk: list[str] = list(header)
    rows = 0
    for line in body:
        line = cut(line, budget - sum(len(h) + 1 for h in header) - 1)
        if sum(len(c) + 1 for c in chunk) + len(line) + 1 > budget:
            out.append((section(FENCE + "\n" + escape("\n".join(chunk)) + "\n" + FENCE), rows))
            chunk, rows = list(header), 0
        chunk.append(line)
        rows += 1
    out.append((section(FENCE + "\n" + escape("\n".join(chunk)) + "\n" + FENCE), rows))
    return out


def _part_blocks(part: Part) -> list[tuple[Block, int]]:
    if isinstance(part, Para):
        return [(section(escape(part.text)), 0)]
    if isinstance(part, Link):
        return [(section(f"<{part.url}|{escape(part.label)}>"), 0)]
    if isinstance(part, Links):
        return [(section(_link_line(part)), 0)]
    if isinstance(part, Fields):
        fields = [
            {"type": "mrkdwn", "text": cut(f"*{escape(k)}*\n{escape(v)}", MAX_FIELD)} for k, v in part.pairs
        ]
        return [
            ({"type": "section", "fields": fields[i : i + MAX_FIELDS]}, 0)
            for i in range(0, len(fields), MAX_FIELDS)
        ]
    return _table_blocks(part)


def to_slack(doc: Doc) -> SlackMessage:
    """Blocks for `doc`, at most MAX_BLOCKS; rows that do not fit become "… and N more"."""
    title = f":warning: {doc.title}" if not doc.ok else doc.title
    blocks: list[Block] = [section(f"*{escape(title)}*" if doc.parts else escape(title))]
    pending = [bp for p in doc.parts for bp in _part_blocks(p)]
    total_rows = sum(_rows(p) for p in doc.parts)
    shown_rows = 0
    for i, (block, rows) in enumerate(pending):
        left = len(pending) - i
        if len(blocks) + left > MAX_BLOCKS and len(blocks) == MAX_BLOCKS - 1:
            more = total_rows - shown_rows
            note = f"… and {more} more" if more else f"… and {left} more parts"
            blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": note}]})
            break
        blocks.append(block)
        shown_rows += rows
    return SlackMessage(cut(to_text(doc), MAX_FALLBACK), tuple(blocks))


def to_upload(doc: Doc) -> SlackUpload | None:
    """The doc's picture as a file share whose message says the title and paragraphs; None without one."""
    if doc.image is None:
        return None
    lines = [f"*{escape(doc.title)}*"]
    lines.extend(escape(p.text) for p in doc.parts if isinstance(p, Para))
    return SlackUpload(
        filename=doc.image.filename,
        data=doc.image.data,
        title=cut(doc.title.replace("`", ""), 250),
        alt_text=cut(doc.image.alt, 1000),  # Slack refuses longer alt text
        comment=cut("\n".join(lines), MAX_SECTION),
    )


def _link_line(part: Links) -> str:
    """Links joined by " · ", stopping before one would be cut in half."""
    out = ""
    for link in part.links:
        item = f"<{link.url}|{escape(link.label)}>"
        joined = f"{out} · {item}" if out else item
        if len(joined) > MAX_SECTION:
            break
        out = joined
    return out


def _rows(part: Part) -> int:
    return len(part.rows) if isinstance(part, Table) else 0
