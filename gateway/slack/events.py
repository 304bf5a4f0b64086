"""The Slack edge, inbound: event and action payloads -> the gateway's own frozen values."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gateway.slack.admission import action_origin, event_origin

_MENTION = re.compile(r"<@([A-Z0-9]+)(?:\|[^>]*)?>")


@dataclass(frozen=True)
class ChatMessage:
    """A message addressed to the bot: a mention in a channel, or a direct message."""

    dedupe_key: str  # event_id, else client_msg_id, else channel/ts
    user: str
    channel: str
    text: str  # the bot's own mention removed
    ts: str
    thread_ts: str  # where the reply goes: the thread of the mention
    direct: bool
    origin: tuple[str, ...] = ()  # every workspace/org id the event names (see admission.py)


@dataclass(frozen=True)
class ButtonClick:
    """A click on one of the gateway's buttons."""

    action_id: str
    value: str
    user: str
    channel: str
    message_ts: str
    origin: tuple[str, ...] = ()


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def strip_mention(text: str, bot_user_id: str) -> str:
    """Remove the bot's own mentions, keep anyone else's."""
    return " ".join(_MENTION.sub(lambda m: "" if m.group(1) == bot_user_id else m.group(0), text).split())


def chat_message(body: Mapping[str, Any], bot_user_id: str) -> ChatMessage | None:
    """The command in an `app_mention` or `message.im` envelope, or None when it is not one."""
    event = body.get("event")
    if not isinstance(event, Mapping):
        return None
    kind, user, channel, ts = (_str(event.get(k)) for k in ("type", "user", "channel", "ts"))
    direct = kind == "message" and _str(event.get("channel_type")) == "im"
    if kind != "app_mention" and not direct:
        return None
    # Edits, joins, bot posts (our own replies included) are not commands.
    if event.get("subtype") or event.get("bot_id") or not user or user == bot_user_id or not channel:
        return None
    key = _str(body.get("event_id")) or _str(event.get("client_msg_id")) or f"{channel}-{ts}"
    return ChatMessage(
        dedupe_key=key,
        user=user,
        channel=channel,
        text=strip_mention(_str(event.get("text")), bot_user_id),
        ts=ts,
        thread_ts=_str(event.get("thread_ts")) or ts,
        direct=direct,
        origin=event_origin(body, event),
    )


def button_click(body: Mapping[str, Any]) -> ButtonClick | None:
    """The first action of a `block_actions` payload, or None when the payload is not one."""
    actions = body.get("actions")
    if body.get("type") != "block_actions" or not isinstance(actions, list) or not actions:
        return None
    action, user, channel = _map(actions[0]), _map(body.get("user")), _map(body.get("channel"))
    container, message = _map(body.get("container")), _map(body.get("message"))
    return ButtonClick(
        action_id=_str(action.get("action_id")),
        value=_str(action.get("value")),
        user=_str(user.get("id")),
        channel=_str(channel.get("id")) or _str(container.get("channel_id")),
        message_ts=_str(container.get("message_ts")) or _str(message.get("ts")),
        origin=action_origin(body),
    )
