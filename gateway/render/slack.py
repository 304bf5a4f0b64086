"""Doc -> a Slack message: Block Kit blocks within Slack's limits, plus a plain-text fallback.

This is the one place where text becomes Slack markup, for command replies and alerts alike. Every
string of a Doc is data: `&`, `<` and `>` are escaped wherever Slack reads mrkdwn (blocks, the
fallback `text`, attachments), so nothing a user or an alert sends can become `<!channel>`,
`<!here>`, `<!subteam^…>`, a mention or a link. Mentions come only from `Mention` parts with a
well-formed user id, a user group only from a `Group` part (the gateway makes one only of its
configuration) with a well-formed group id, a `<!date…>` only from a `Moment` (a number and UTC
text); links only from `Link` parts with an http(s) URL, percent-encoded so that no `|` or `>` in it
can end the link early or add text to it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

from tabulate import tabulate

from gateway.render.doc import (
    Attachment,
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
    Table,
    Text,
    cut,
)
from gateway.render.text import Style, prose, to_text, utc

MAX_BLOCKS = 50
MAX_SECTION = 3000
MAX_FIELD = 2000
MAX_FIELDS = 10
MAX_FALLBACK = 3000
MAX_LINK = 1500  # a longer link would push its line past the section limit and be cut in half
FENCE = "```"
TONE_COLOURS = {
    "critical": "#d0021b",
    "warning": "#f5a623",
    "info": "#4a90e2",
    "none": "#9b9b9b",
    "resolved": "#2eb886",
}

Block = dict[str, Any]
_USER_ID = re.compile(r"^[UW][A-Z0-9]{1,20}$")
_GROUP_ID = re.compile(r"^S[A-Z0-9]{2,20}$")
# Kept as they are in a URL; everything else (`<`, `>`, `|`, spaces, quotes, non-ASCII) is %-encoded.
_URL_SAFE = "-._~:/?#[]@!$&'()*+,;=%"


@dataclass(frozen=True)
class SlackMessage:
    """What chat.postMessage / chat.update take: `text` (fallback), `blocks` and `attachments`."""

    text: str
    blocks: tuple[Block, ...]
    attachments: tuple[Block, ...] = field(default=())


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
    """Escape &, <, > as Slack requires: the text shows as sent and holds no markup."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def mention(who: Mention) -> str:
    """`<@U…>` for a well-formed user id; anything else is shown as text."""
    return f"<@{who.user}>" if _USER_ID.match(who.user) else escape(f"@{who.user}")


def group(who: Group) -> str:
    """`<!subteam^S…>` for a well-formed user group id; anything else is shown as text."""
    return f"<!subteam^{who.id}>" if _GROUP_ID.match(who.id) else escape(f"@{who.id}")


def moment(when: Moment) -> str:
    """Slack's date token: "3 minutes ago" in the reader's terms, the UTC time where it cannot."""
    return f"<!date^{int(when.at.timestamp())}^{{ago}}|{escape(utc(when))}>"


def slack_url(url: str) -> str | None:
    """The URL as it may stand inside `<…|label>`, or None when it is not an http(s) link."""
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unclosed [ in the host
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return quote(url, safe=_URL_SAFE).replace("&", "&amp;")


def link(target: Link) -> str:
    """`<url|label>` for an http(s) URL, at most MAX_LINK long; otherwise only the label, as text."""
    url = slack_url(target.url)
    label = escape(target.label) or "link"
    if url is None or len(url) > MAX_LINK - 20:
        return cut(label, MAX_LINK)
    return f"<{url}|{cut(label, MAX_LINK - len(url) - 3)}>"


def mrkdwn(text: Text) -> str:
    """Prose as Slack mrkdwn: data escaped, mentions as mentions."""
    return prose(text, SLACK_TEXT)


# The fallback `text` of a message: Slack reads it as mrkdwn too (notifications, old clients).
SLACK_TEXT = Style(data=escape, mention=mention, link=lambda target: link(target), group=group, moment=moment)


def cut_markup(text: str, limit: int) -> str:
    """At most `limit` characters, never ending inside a link or mention (cut before its `<`)."""
    if len(text) <= limit:
        return text
    out = cut(text, limit)
    opened = out.rfind("<")
    if opened > out.rfind(">"):
        out = out[:opened] + "…"
    return out


def section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": cut_markup(text, MAX_SECTION)}}


def context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": cut_markup(text, MAX_SECTION)}]}


def _with_link(text: str, target: Link | None) -> str:
    """Escaped text, then the link; the text is cut so that the link always stays whole."""
    if target is None:
        return cut_markup(text, MAX_SECTION)
    tail = " " + link(target)
    return cut_markup(text, MAX_SECTION - len(tail)) + tail


def _table_blocks(table: Table) -> list[tuple[Block, int]]:
    """Code-block sections of a table, each paired with the number of rows it shows."""
    lines = tabulate(table.rows, headers=table.headers, tablefmt="simple", disable_numparse=True).split("\n")
    header, body = lines[:2], lines[2:]
    budget = MAX_SECTION - 2 * len(FENCE) - 2
    out: list[tuple[Block, int]] = []
    chunk: list[str] = list(header)
    rows = 0

    def code(chunk: list[str]) -> Block:
        return section(FENCE + "\n" + escape("\n".join(chunk)) + "\n" + FENCE)

    for line in body:
        line = cut(line, budget - sum(len(h) + 1 for h in header) - 1)
        if sum(len(c) + 1 for c in chunk) + len(line) + 1 > budget:
            out.append((code(chunk), rows))
            chunk, rows = list(header), 0
        chunk.append(line)
        rows += 1
    out.append((code(chunk), rows))
    return out


def _lines_blocks(part: Lines) -> list[tuple[Block, int]]:
    """Lines packed into as few sections as fit, each paired with the number of lines it shows."""
    out: list[tuple[Block, int]] = []
    chunk: list[str] = []
    for line in part.lines:
        text = _line(line)
        if chunk and sum(len(c) + 1 for c in chunk) + len(text) > MAX_SECTION:
            out.append((section("\n".join(chunk)), len(chunk)))
            chunk = []
        chunk.append(text)
    if chunk:
        out.append((section("\n".join(chunk)), len(chunk)))
    return out


def _line(line: Line) -> str:
    return _with_link(escape(line.text), line.link)


def _part_blocks(part: Part) -> list[tuple[Block, int]]:
    if isinstance(part, Para):
        return [(section(mrkdwn(part.text)), 0)]
    if isinstance(part, Link):
        return [(section(link(part)), 0)]
    if isinstance(part, Links):
        return [(section(_link_line(part)), 0)]
    if isinstance(part, Fields):
        fields = [
            {
                "type": "mrkdwn",
                "text": cut(f"*{escape(k)}*\n{escape(v)}", MAX_FIELD),
            }
            for k, v in part.pairs
        ]
        return [
            ({"type": "section", "fields": fields[i : i + MAX_FIELDS]}, 0)
            for i in range(0, len(fields), MAX_FIELDS)
        ]
    if isinstance(part, Lines):
        return _lines_blocks(part)
    if isinstance(part, Note):
        return [(context(_with_link(mrkdwn(part.text), part.link)), 0)]
    if isinstance(part, Buttons):
        return [(_actions(part), 0)]
    return _table_blocks(part)


def _actions(part: Buttons) -> Block:
    elements = []
    for button in part.buttons:
        element: Block = {
            "type": "button",
            "action_id": button.action,
            "value": button.value,
            "text": {"type": "plain_text", "text": cut(button.label, 75)},
        }
        if button.primary:
            element["style"] = "primary"
        elements.append(element)
    return {"type": "actions", "elements": elements}


def to_slack(doc: Doc) -> SlackMessage:
    """Blocks for `doc`, at most MAX_BLOCKS: parts that do not fit become "… and N more"; the footer stays."""
    head: list[Block] = []
    if doc.title:
        title = escape(f":warning: {doc.title}" if not doc.ok else doc.title)
        head.append(section(f"*{title}*" if doc.parts or doc.footer else title))
    body = [bp for p in doc.parts for bp in _part_blocks(p)]
    tail = [block for p in doc.footer for block, _ in _part_blocks(p)]
    left_out = sum(p.more for p in doc.parts if isinstance(p, Lines))
    room = MAX_BLOCKS - len(head) - len(tail)
    shown = body if len(body) + (1 if left_out else 0) <= room else body[: max(0, room - 1)]
    blocks = head + [block for block, _ in shown]
    more = left_out + sum(rows for _, rows in body[len(shown) :])
    if more:
        blocks.append(context(f"… and {more} more"))
    elif len(shown) < len(body):
        blocks.append(context(f"… and {len(body) - len(shown)} more parts"))
    blocks.extend(tail)
    attachments: tuple[Block, ...] = ()
    if doc.mark is not None:
        colour = TONE_COLOURS.get(doc.mark.tone, TONE_COLOURS["none"])
        said = escape(doc.mark.text)
        attachments = ({"color": colour, "fallback": cut(said, 300), "text": cut(said, MAX_SECTION)},)
    return SlackMessage(fallback_text(doc), tuple(blocks[:MAX_BLOCKS]), attachments)


def fallback_text(doc: Doc) -> str:
    """The message's `text`: what notifications show, and all a plain-text message says."""
    return cut_markup(to_text(doc, SLACK_TEXT), MAX_FALLBACK)


def plain(message: SlackMessage) -> SlackMessage:
    """The message as text alone, for when Slack refuses its blocks or attachments."""
    return SlackMessage(message.text, ())


def to_upload(doc: Doc) -> SlackUpload | None:
    """The doc's picture as a file share whose message says the title and paragraphs; None without one."""
    if doc.image is None:
        return None
    lines = [f"*{escape(doc.title)}*"]
    lines.extend(mrkdwn(p.text) for p in doc.parts if isinstance(p, Para))
    lines.extend(mrkdwn(n.text) for n in doc.footer if isinstance(n, Note))  # e.g. a recovered answer's
    return SlackUpload(
        filename=doc.image.filename,
        data=doc.image.data,
        title=cut(doc.title.replace("`", ""), 250),
        alt_text=cut(doc.image.alt, 1000),  # Slack refuses longer alt text
        comment=cut_markup("\n".join(lines), MAX_SECTION),
    )


def to_file(attachment: Attachment) -> SlackUpload:
    """A text file to share in the thread after the reply, e.g. a timeline as Markdown."""
    return SlackUpload(
        filename=attachment.filename,
        data=attachment.text.encode(),
        title=cut(attachment.title, 250),
        alt_text="",
        comment=escape(cut(attachment.title, MAX_SECTION)),
    )


def _link_line(part: Links) -> str:
    """Links joined by " · ", stopping before one would be cut in half."""
    out = ""
    for target in part.links:
        item = link(target)
        joined = f"{out} · {item}" if out else item
        if len(joined) > MAX_SECTION:
            break
        out = joined
    return out
