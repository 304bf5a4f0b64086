"""The workspace the emulator holds in memory: users, channels, messages and their edits."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from slackemu.records import Channel, Edit, JsonDict, Message, NotFound, User

__all__ = [
    "Channel",
    "Edit",
    "JsonDict",
    "Message",
    "NotFound",
    "TsClock",
    "User",
    "Workspace",
    "default_workspace",
]


class TsClock:
    """Slack timestamps ("seconds.micros"), strictly increasing even within one microsecond."""

    def __init__(self, now: Callable[[], float] = time.time) -> None:
        self._now = now
        self.last = 0  # microseconds of the last ts handed out; kept across restarts

    def next(self) -> str:
        micros = max(int(self._now() * 1_000_000), self.last + 1)
        self.last = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


@dataclass
class Workspace:
    """All state of the emulated Slack team; every change wakes `changed` waiters."""

    team_id: str = "T0EMU0001"
    team_domain: str = "emulator"
    app_id: str = "A0EMU0001"
    bot_id: str = "B0EMU0001"
    bot_user_id: str = "U0EMUB0T1"
    users: dict[str, User] = field(default_factory=dict)
    channels: dict[str, Channel] = field(default_factory=dict)
    messages: dict[str, list[Message]] = field(default_factory=dict)
    clock: TsClock = field(default_factory=TsClock)
    version: int = 0
    next_id: int = 1  # the counter behind U0…/C0…/D0… ids; kept across restarts
    _listeners: list[Callable[[str], None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.users[self.bot_user_id] = User(
            self.bot_user_id, "chatops", "ChatOps bot", self.team_id, is_bot=True, bot_id=self.bot_id
        )

    # -- change notification ------------------------------------------------------------------
    def on_change(self, listener: Callable[[str], None]) -> Callable[[], None]:
        """Call `listener(channel_id)` after every change; returns a function that unsubscribes."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def _touch(self, channel: str) -> None:
        self.version += 1
        for listener in list(self._listeners):
            listener(channel)

    # -- users and channels ---------------------------------------------------------------------
    def _new_id(self, prefix: str) -> str:
        number, self.next_id = self.next_id, self.next_id + 1
        return f"{prefix}0{number:07X}"

    def add_user(self, name: str, real_name: str | None = None, team_id: str | None = None) -> User:
        """Create a member; names are unique, like Slack handles. Another `team_id` makes a Slack
        Connect guest: someone from another workspace in a shared channel."""
        if not name or any(u.name == name for u in self.users.values()):
            raise ValueError(f"user name {name!r} is empty or taken")
        user = User(self._new_id("U"), name, real_name or name.title(), team_id or self.team_id)
        self.users[user.id] = user
        self._touch("")
        return user

    def add_channel(self, name: str) -> Channel:
        """Create a public channel; `name` may carry a leading '#'."""
        name = name.lstrip("#")
        if not name or any(c.name == name and not c.is_im for c in self.channels.values()):
            raise ValueError(f"channel name {name!r} is empty or taken")
        channel = Channel(self._new_id("C"), name, int(time.time()))
        self.channels[channel.id] = channel
        self.messages[channel.id] = []
        self._touch(channel.id)
        return channel

    def add_bot(self, user_id: str, name: str, bot_id: str) -> User:
        """A bot member other than the app's own (an incoming webhook's poster); made once."""
        if user_id not in self.users:
            self.users[user_id] = User(user_id, name, name, self.team_id, is_bot=True, bot_id=bot_id)
            self._touch("")
        return self.users[user_id]

    def open_im(self, user_id: str) -> Channel:
        """The direct-message conversation between `user_id` and the bot, created on first use."""
        user = self.user(user_id)
        for channel in self.channels.values():
            if channel.im_user == user.id:
                return channel
        channel = Channel(self._new_id("D"), f"dm-{user.name}", int(time.time()), im_user=user.id)
        self.channels[channel.id] = channel
        self.messages[channel.id] = []
        self._touch(channel.id)
        return channel

    def set_channel(
        self, channel_id: str, *, bot_member: bool | None = None, archived: bool | None = None
    ) -> Channel:
        """Remove the bot from a channel or add it back, archive or unarchive it (what people do in Slack)."""
        channel = self.channel(channel_id)
        if channel.is_im:
            raise ValueError("a direct message has no members to change and cannot be archived")
        changed = replace(
            channel,
            bot_member=channel.bot_member if bot_member is None else bot_member,
            archived=channel.archived if archived is None else archived,
        )
        self.channels[channel.id] = changed
        self._touch(channel.id)
        return changed

    def user(self, user_id: str) -> User:
        try:
            return self.users[user_id]
        except KeyError:
            raise NotFound("user_not_found", f"no user {user_id!r}") from None

    def user_by_name(self, name: str) -> User:
        for user in self.users.values():
            if user.name == name:
                return user
        raise NotFound("user_not_found", f"no user named {name!r}")

    def channel(self, ref: str) -> Channel:
        """Find a channel by id, `#name` or name, as chat.postMessage accepts."""
        if ref in self.channels:
            return self.channels[ref]
        name = ref.lstrip("#")
        for channel in self.channels.values():
            if channel.name == name and not channel.is_im:
                return channel
        if ref in self.users:  # posting to a user id lands in the DM with the bot
            return self.open_im(ref)
        raise NotFound("channel_not_found", f"no channel {ref!r}")

    # -- messages -------------------------------------------------------------------------------
    def post(
        self,
        channel_id: str,
        user_id: str,
        text: str,
        *,
        blocks: Sequence[JsonDict] = (),
        thread_ts: str | None = None,
        ephemeral_to: str | None = None,
        files: Sequence[JsonDict] = (),
        attachments: Sequence[JsonDict] = (),
        metadata: JsonDict | None = None,
    ) -> Message:
        """Store a new message (or thread reply, or file share) and return it."""
        channel = self.channel(channel_id)
        if thread_ts is not None:
            # Stricter than Slack, which accepts any ts: a reply must name an existing message.
            # Like Slack, a reply to a reply is not moved to the parent's thread (it is lost there).
            self.message(channel.id, thread_ts)
        user = self.user(user_id)
        msg = Message(
            channel=channel.id,
            ts=self.clock.next(),
            user=user.id,
            text=text,
            blocks=tuple(blocks),
            thread_ts=thread_ts,
            bot_id=user.bot_id,
            ephemeral_to=ephemeral_to,
            files=tuple(files),
            attachments=tuple(attachments),
            metadata=metadata,
        )
        self.messages[channel.id].append(msg)
        self._touch(channel.id)
        return msg

    def message(self, channel_id: str, ts: str) -> Message:
        for msg in self.messages.get(channel_id, []):
            if msg.ts == ts:
                return msg
        raise NotFound("message_not_found", f"no message {ts} in {channel_id}")

    def _replace(self, new: Message) -> Message:
        items = self.messages[new.channel]
        for i, msg in enumerate(items):
            if msg.ts == new.ts:
                items[i] = new
        self._touch(new.channel)
        return new

    def update(
        self,
        channel_id: str,
        ts: str,
        *,
        text: str | None,
        blocks: Sequence[JsonDict] | None,
        metadata: JsonDict | None = None,
    ) -> Message:
        """Apply chat.update, keeping the previous version in the history (metadata: kept unless given)."""
        old = self.message(channel_id, ts)
        new = replace(
            old,
            text=old.text if text is None else text,
            blocks=old.blocks if blocks is None else tuple(blocks),
            metadata=old.metadata if metadata is None else metadata,
            edited_ts=self.clock.next(),
            history=(*old.history, Edit(old.edited_ts or old.ts, old.text, old.blocks)),
        )
        return self._replace(new)

    def delete(self, channel_id: str, ts: str) -> Message:
        return self._replace(replace(self.message(channel_id, ts), deleted=True))

    def react(self, channel_id: str, ts: str, name: str, user_id: str, *, add: bool) -> Message:
        """Add or remove a reaction; raises NotFound with Slack's error names when it cannot."""
        msg = self.message(channel_id, ts)
        reactions = dict(msg.reactions)
        users = reactions.get(name, ())
        if add:
            if user_id in users:
                raise NotFound("already_reacted", f"{user_id} already reacted with {name}")
            reactions[name] = (*users, user_id)
        else:
            if user_id not in users:
                raise NotFound("no_reaction", f"{user_id} has no {name} reaction here")
            reactions[name] = tuple(u for u in users if u != user_id)
        pairs = tuple((n, u) for n, u in reactions.items() if u)
        return self._replace(replace(msg, reactions=pairs))

    def listing(self, channel_id: str) -> list[Message]:
        """Messages of a channel in time order, thread replies included."""
        return list(self.messages.get(self.channel(channel_id).id, []))

    def reply_counts(self, channel_id: str) -> Mapping[str, int]:
        counts: dict[str, int] = {}
        for msg in self.messages.get(channel_id, []):
            if msg.thread_ts and msg.thread_ts != msg.ts:
                counts[msg.thread_ts] = counts.get(msg.thread_ts, 0) + 1
        return counts

    def snapshot(self) -> JsonDict:
        """Ids and names for the control API and the page; never tokens."""
        return {
            "team_id": self.team_id,
            "team_domain": self.team_domain,
            "app_id": self.app_id,
            "bot_id": self.bot_id,
            "bot_user_id": self.bot_user_id,
            "version": self.version,
            "users": [
                {"id": u.id, "name": u.name, "real_name": u.real_name, "is_bot": u.is_bot}
                for u in self.users.values()
            ],
            "channels": [
                {
                    "id": c.id,
                    "name": c.name,
                    "is_im": c.is_im,
                    "user": c.im_user,
                    "bot_member": c.bot_member,
                    "archived": c.archived,
                }
                for c in self.channels.values()
            ],
        }


def default_workspace() -> Workspace:
    """The workspace a fresh emulator starts with: the bot, alice, bob, #oncall and #general."""
    ws = Workspace()
    ws.add_user("alice", "Alice Oncall")
    ws.add_user("bob", "Bob Builder")
    ws.add_channel("oncall")
    ws.add_channel("general")
    return ws
