"""Pure builders for the JSON Slack sends apps: event callbacks, block_actions, envelopes."""

from __future__ import annotations

import re
import secrets
import time
import uuid
from typing import Any

from slackemu.state import Channel, JsonDict, Message, User, Workspace

_MENTION = re.compile(r"<@([A-Z0-9]+)(?:\|[^>]*)?>")


def mentions(text: str) -> list[str]:
    """User ids mentioned as `<@U…>` in a message text."""
    return _MENTION.findall(text)


def new_event_id() -> str:
    return "Ev" + secrets.token_hex(5).upper()


def event_for_message(ws: Workspace, channel: Channel, msg: Message) -> JsonDict | None:
    """The inner event an app subscribed to app_mention and message.im gets for a human's message.

    As in Slack, `team`, `user_team` and `source_team` name the sender's own workspace: for a Slack
    Connect guest that is not the app's workspace (the envelope's `team_id`).
    """
    sender_team = ws.users[msg.user].team_id if msg.user in ws.users else ws.team_id
    base: JsonDict = {
        "user": msg.user,
        "text": msg.text,
        "ts": msg.ts,
        "channel": channel.id,
        "event_ts": msg.ts,
        "team": sender_team,
        "user_team": sender_team,
        "source_team": sender_team,
        "blocks": [
            {
                "type": "rich_text",
                "block_id": secrets.token_hex(3),
                "elements": [{"type": "rich_text_section", "elements": [{"type": "text", "text": msg.text}]}],
            }
        ],
    }
    if msg.thread_ts:
        base["thread_ts"] = msg.thread_ts
    if channel.is_im:
        return {"type": "message", "client_msg_id": str(uuid.uuid4()), **base, "channel_type": "im"}
    if ws.bot_user_id in mentions(msg.text):
        return {"type": "app_mention", "client_msg_id": str(uuid.uuid4()), **base}
    return None


def event_callback(ws: Workspace, event: JsonDict, token: str) -> JsonDict:
    """The outer event_callback body: the same in Socket Mode payloads and in Events API POSTs."""
    return {
        "token": token,
        "team_id": ws.team_id,
        "context_team_id": ws.team_id,
        "context_enterprise_id": None,
        "api_app_id": ws.app_id,
        "event": event,
        "type": "event_callback",
        "event_id": new_event_id(),
        "event_time": int(time.time()),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": ws.team_id,
                "user_id": ws.bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": event.get("team", ws.team_id) != ws.team_id,
        "event_context": "4-" + secrets.token_urlsafe(24),
    }


def find_button(msg: Message, action_id: str) -> tuple[str, JsonDict]:
    """The (block_id, element) of the interactive element with `action_id`, or KeyError."""
    for block in msg.blocks:
        candidates: list[Any] = list(block.get("elements") or [])
        if isinstance(block.get("accessory"), dict):
            candidates.append(block["accessory"])
        for element in candidates:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return str(block.get("block_id", "")), element
    raise KeyError(action_id)


def block_actions(
    ws: Workspace,
    user: User,
    channel: Channel,
    msg: Message,
    action_id: str,
    value: str | None,
    *,
    response_url: str,
    token: str,
) -> JsonDict:
    """The block_actions payload Slack sends when `user` clicks a button in `msg`."""
    block_id, element = find_button(msg, action_id)
    action: JsonDict = {
        "action_id": action_id,
        "block_id": block_id,
        "type": element.get("type", "button"),
        "action_ts": f"{time.time():.6f}",
    }
    if "text" in element:
        action["text"] = element["text"]
    chosen = value if value is not None else element.get("value")
    if chosen is not None:
        action["value"] = chosen
    if "style" in element:
        action["style"] = element["style"]
    container: JsonDict = {
        "type": "message",
        "message_ts": msg.ts,
        "channel_id": channel.id,
        "is_ephemeral": msg.ephemeral_to is not None,
    }
    if msg.thread_ts:
        container["thread_ts"] = msg.thread_ts
    return {
        "type": "block_actions",
        "user": {"id": user.id, "username": user.name, "name": user.name, "team_id": user.team_id},
        "api_app_id": ws.app_id,
        "token": token,
        "container": container,
        "trigger_id": f"{int(time.time())}.{secrets.randbelow(10**12)}.{secrets.token_hex(16)}",
        "team": {"id": ws.team_id, "domain": ws.team_domain},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel.id, "name": channel.name},
        "message": msg.to_slack(),
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [action],
    }


def envelope(
    kind: str,
    payload: JsonDict,
    *,
    retry_attempt: int = 0,
    retry_reason: str = "",
    envelope_id: str | None = None,
) -> JsonDict:
    """A Socket Mode envelope around `payload` ("events_api" or "interactive")."""
    out: JsonDict = {
        "envelope_id": envelope_id or str(uuid.uuid4()),
        "payload": payload,
        "type": kind,
        "accepts_response_payload": False,
    }
    if kind == "events_api":
        out["retry_attempt"] = retry_attempt
        out["retry_reason"] = retry_reason
    return out


def hello(ws: Workspace, connections: int) -> JsonDict:
    """The first frame on a new Socket Mode connection."""
    return {
        "type": "hello",
        "num_connections": connections,
        "debug_info": {"host": "applink-emulator", "build_number": 1, "approximate_connection_time": 18060},
        "connection_info": {"app_id": ws.app_id},
    }


def disconnect(reason: str) -> JsonDict:
    """Asks the client to open a new connection (reason: "warning", "refresh_requested", …)."""
    return {"type": "disconnect", "reason": reason, "debug_info": {"host": "applink-emulator"}}


def url_verification(token: str) -> JsonDict:
    return {"token": token, "challenge": secrets.token_urlsafe(32), "type": "url_verification"}
