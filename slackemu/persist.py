"""The emulated workspace kept in a JSON file, so a restarted offline Slack still shows what it showed.

`chatops up` keeps everything else of the local stack in its data directory: JetStream (the alerts
and the gateway's record of which Slack message shows which alert group), Prometheus' TSDB, and
Alertmanager's notification log, which says "already sent" for hours. An offline Slack that started
empty would contradict all of them: the firing alert would be nowhere in #oncall, and nothing would
send it again. So the workspace persists beside them: users, channels, messages with their edits and
reactions, the id counter and the ts clock. Tokens never go into the file; they come from settings.
Uploaded files' bytes are not kept: a picture posted before a restart shows as a broken link after.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

from chatops import logs
from chatops.lifecycle import cancelled
from slackemu.state import Channel, Edit, JsonDict, Message, User, Workspace

log = logs.get_logger(__name__)

FORMAT = 1
SAVE_EVERY = 1.0  # seconds: changes are written at most this often, and once more on stop


class StateFileError(ValueError):
    """A state file that cannot be read back; the text says why."""


def to_json(ws: Workspace) -> JsonDict:
    """Everything needed to rebuild the workspace."""
    return {
        "format": FORMAT,
        "team_id": ws.team_id,
        "team_domain": ws.team_domain,
        "app_id": ws.app_id,
        "bot_id": ws.bot_id,
        "bot_user_id": ws.bot_user_id,
        "next_id": ws.next_id,
        "version": ws.version,
        "last_ts_micros": ws.clock.last,
        "users": [
            {
                "id": u.id,
                "name": u.name,
                "real_name": u.real_name,
                "team_id": u.team_id,
                "is_bot": u.is_bot,
                "bot_id": u.bot_id,
            }
            for u in ws.users.values()
        ],
        "channels": [
            {
                "id": c.id,
                "name": c.name,
                "created": c.created,
                "im_user": c.im_user,
                "bot_member": c.bot_member,
                "archived": c.archived,
            }
            for c in ws.channels.values()
        ],
        "messages": [_message(m) for msgs in ws.messages.values() for m in msgs],
    }


def _message(m: Message) -> JsonDict:
    return {
        "channel": m.channel,
        "ts": m.ts,
        "user": m.user,
        "text": m.text,
        "blocks": list(m.blocks),
        "thread_ts": m.thread_ts,
        "bot_id": m.bot_id,
        "edited_ts": m.edited_ts,
        "history": [{"ts": e.ts, "text": e.text, "blocks": list(e.blocks)} for e in m.history],
        "reactions": [[name, list(users)] for name, users in m.reactions],
        "ephemeral_to": m.ephemeral_to,
        "deleted": m.deleted,
        "files": list(m.files),
        "attachments": list(m.attachments),
        "metadata": m.metadata,
    }


def from_json(doc: Any) -> Workspace:
    """Rebuild a workspace; StateFileError when the document is not one this code wrote."""
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise StateFileError(f"not an emulator state file of format {FORMAT}")
    try:
        ws = Workspace(
            team_id=str(doc["team_id"]),
            team_domain=str(doc["team_domain"]),
            app_id=str(doc["app_id"]),
            bot_id=str(doc["bot_id"]),
            bot_user_id=str(doc["bot_user_id"]),
        )
        ws.users.clear()
        for u in doc["users"]:
            user = User(
                str(u["id"]),
                str(u["name"]),
                str(u["real_name"]),
                str(u["team_id"]),
                bool(u["is_bot"]),
                u["bot_id"],
            )
            ws.users[user.id] = user
        for c in doc["channels"]:
            ws.channels[str(c["id"])] = Channel(
                str(c["id"]),
                str(c["name"]),
                int(c["created"]),
                c["im_user"],
                # Files written before these were kept: the bot was in every channel, none archived.
                bool(c.get("bot_member", True)),
                bool(c.get("archived", False)),
            )
            ws.messages[str(c["id"])] = []
        for m in doc["messages"]:
            ws.messages[str(m["channel"])].append(
                Message(
                    channel=str(m["channel"]),
                    ts=str(m["ts"]),
                    user=str(m["user"]),
                    text=str(m["text"]),
                    blocks=tuple(m["blocks"]),
                    thread_ts=m["thread_ts"],
                    bot_id=m["bot_id"],
                    edited_ts=m["edited_ts"],
                    history=tuple(
                        Edit(str(e["ts"]), str(e["text"]), tuple(e["blocks"])) for e in m["history"]
                    ),
                    reactions=tuple((str(n), tuple(str(x) for x in users)) for n, users in m["reactions"]),
                    ephemeral_to=m["ephemeral_to"],
                    deleted=bool(m["deleted"]),
                    files=tuple(m["files"]),
                    attachments=tuple(m["attachments"]),
                    metadata=m.get("metadata"),
                )
            )
        ws.next_id = int(doc["next_id"])
        ws.version = int(doc["version"])
        ws.clock.last = int(doc["last_ts_micros"])
    except (KeyError, TypeError, ValueError) as exc:
        raise StateFileError(f"the state file is damaged ({type(exc).__name__}: {exc})") from None
    if ws.bot_user_id not in ws.users:
        raise StateFileError("the state file has no bot user")
    return ws


def load(path: Path) -> Workspace | None:
    """The saved workspace, or None when there is none yet. A damaged file is set aside, not lost."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        return from_json(json.loads(text))
    except (ValueError, StateFileError) as exc:
        aside = path.with_suffix(path.suffix + ".damaged")
        path.replace(aside)
        log.warning("slackemu.state_unreadable", path=str(path), moved_to=str(aside), error=str(exc))
        return None


def save(doc: JsonDict, path: Path) -> None:
    """Write atomically: a crash mid-write leaves the previous file whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "w", encoding="utf-8") as out:
        json.dump(doc, out, separators=(",", ":"))
        out.flush()
        os.fsync(out.fileno())
    tmp.replace(path)


class Saver:
    """Saves the workspace a moment after it changes, and once more when stopped."""

    def __init__(self, ws: Workspace, path: Path, *, every: float = SAVE_EVERY) -> None:
        self.ws = ws
        self.path = path
        self.every = every
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._unsubscribe = ws.on_change(lambda _channel: self._changed.set())

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="slackemu-save")

    async def _loop(self) -> None:
        while True:
            await self._changed.wait()
            await asyncio.sleep(self.every)  # one write for a burst of changes
            await self.flush()

    async def flush(self) -> None:
        """Write now if anything changed since the last write."""
        if not self._changed.is_set():
            return
        self._changed.clear()
        doc = to_json(self.ws)  # on the loop: a consistent snapshot
        try:
            await asyncio.to_thread(save, doc, self.path)
        except OSError as exc:
            self._changed.set()  # try again next time
            log.warning("slackemu.state_not_saved", path=str(self.path), error=str(exc))

    async def stop(self) -> None:
        self._unsubscribe()
        await cancelled(self._task)
        await self.flush()
