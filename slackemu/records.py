"""The emulated workspace's records: users, channels, messages and their edits (frozen values)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

JsonDict = dict[str, Any]


class NotFound(LookupError):
    """A user, channel or message the caller named does not exist; `error` is Slack's error name."""

    def __init__(self, error: str, detail: str) -> None:
        super().__init__(detail)
        self.error = error


@dataclass(frozen=True)
class User:
    """A workspace member; the bot is one too."""

    id: str
    name: str
    real_name: str
    team_id: str
    is_bot: bool = False
    bot_id: str | None = None

    def to_slack(self) -> JsonDict:
        """The `user` object users.info answers with."""
        return {
            "id": self.id,
            "team_id": self.team_id,
            "name": self.name,
            "deleted": False,
            "real_name": self.real_name,
            "tz": "Etc/UTC",
            "tz_offset": 0,
            "is_bot": self.is_bot,
            "is_admin": False,
            "is_app_user": False,
            "updated": 0,
            "profile": {"real_name": self.real_name, "display_name": self.name, "bot_id": self.bot_id}
            if self.bot_id
            else {"real_name": self.real_name, "display_name": self.name},
        }


@dataclass(frozen=True)
class Channel:
    """A public channel or a direct-message conversation with the bot (`im_user` set)."""

    id: str
    name: str
    created: int
    im_user: str | None = None
    bot_member: bool = True  # False once the bot is removed: posts answer not_in_channel
    archived: bool = False  # posts answer is_archived

    @property
    def is_im(self) -> bool:
        return self.im_user is not None

    @property
    def channel_type(self) -> str:
        return "im" if self.is_im else "channel"

    def to_slack(self) -> JsonDict:
        """The `channel` object conversations.info answers with."""
        if self.im_user is not None:
            return {
                "id": self.id,
                "created": self.created,
                "is_im": True,
                "is_org_shared": False,
                "user": self.im_user,
                "is_user_deleted": False,
                "priority": 0,
            }
        return {
            "id": self.id,
            "name": self.name,
            "is_channel": True,
            "is_group": False,
            "is_im": False,
            "is_mpim": False,
            "is_private": False,
            "is_archived": self.archived,
            "is_general": self.name == "general",
            "created": self.created,
            "is_member": self.bot_member,
            "name_normalized": self.name,
            "topic": {"value": "", "creator": "", "last_set": 0},
            "purpose": {"value": "", "creator": "", "last_set": 0},
        }


@dataclass(frozen=True)
class Edit:
    """What a message looked like before one chat.update."""

    ts: str
    text: str
    blocks: tuple[JsonDict, ...]


@dataclass(frozen=True)
class Message:
    """One message as stored; edits keep the earlier versions in `history`."""

    channel: str
    ts: str
    user: str
    text: str
    blocks: tuple[JsonDict, ...] = ()
    thread_ts: str | None = None
    bot_id: str | None = None
    edited_ts: str | None = None
    history: tuple[Edit, ...] = ()
    reactions: tuple[tuple[str, tuple[str, ...]], ...] = ()
    ephemeral_to: str | None = None
    deleted: bool = False
    files: tuple[JsonDict, ...] = ()  # the `file` objects of a file share
    attachments: tuple[JsonDict, ...] = ()  # legacy attachments, as incoming webhooks send them
    metadata: JsonDict | None = None  # {event_type, event_payload}, as the app posted it

    def to_slack(self, *, metadata: bool = False) -> JsonDict:
        """The `message` object Slack's answers and payloads carry; `metadata` only when asked for
        (conversations.history and .replies with include_all_metadata)."""
        out: JsonDict = {"type": "message", "user": self.user, "text": self.text, "ts": self.ts}
        if self.blocks:
            out["blocks"] = list(self.blocks)
        if self.files:
            out["files"] = list(self.files)
            out["upload"] = True
        if self.attachments:
            out["attachments"] = list(self.attachments)
        if self.bot_id:
            out["bot_id"] = self.bot_id
        if self.thread_ts:
            out["thread_ts"] = self.thread_ts
        if self.edited_ts:
            out["edited"] = {"user": self.user, "ts": self.edited_ts}
        if self.reactions:
            out["reactions"] = [{"name": n, "users": list(u), "count": len(u)} for n, u in self.reactions]
        if metadata and self.metadata is not None:
            out["metadata"] = self.metadata
        return out

    def to_record(self) -> JsonDict:
        """Everything a test may want to check, edits, thread and metadata included."""
        out = self.to_slack(metadata=True)
        out["channel"] = self.channel
        out["history"] = [{"ts": e.ts, "text": e.text, "blocks": list(e.blocks)} for e in self.history]
        out["ephemeral_to"] = self.ephemeral_to
        out["deleted"] = self.deleted
        return out
