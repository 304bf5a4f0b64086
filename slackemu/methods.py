"""The Web API methods the emulator answers, each `(emulator, call) -> answer fields`."""

from __future__ import annotations

from typing import Any

from slackemu.calls import ApiError, Call, Handler
from slackemu.core import Emulator
from slackemu.limits import LimitError, check_blocks, truncate_text
from slackemu.state import Channel, JsonDict, NotFound
from slackemu.uploads import FILE_METHODS


def _message_content(call: Call) -> tuple[str, list[Any]]:
    blocks = call.json_list("blocks") or []
    text = call.text("text")
    if not text and not blocks and not call.args.get("attachments"):
        raise ApiError("no_text")
    try:
        check_blocks(blocks)
    except LimitError as exc:
        raise ApiError(exc.error) from None
    return truncate_text(text), blocks


def _by_id(emu: Emulator, call: Call) -> Channel:
    """The channel named by ID; only chat.postMessage and chat.postEphemeral also take a name."""
    channel = emu.workspace.channels.get(call.text("channel"))
    if channel is None:
        raise ApiError("channel_not_found")
    return channel


def _rate_limit(emu: Emulator, channel: str) -> None:
    wait = emu.rate.retry_after(channel, emu.now())
    if wait:
        raise ApiError("ratelimited", 429, {"Retry-After": str(wait)})


async def auth_test(emu: Emulator, call: Call) -> JsonDict:
    ws = emu.workspace
    return {
        "url": f"https://{ws.team_domain}.slack.com/",
        "team": "Emulator",
        "user": "chatops",
        "team_id": ws.team_id,
        "user_id": ws.bot_user_id,
        "bot_id": ws.bot_id,
        "is_enterprise_install": False,
    }


async def connections_open(emu: Emulator, call: Call) -> JsonDict:
    return {"url": emu.sockets.issue_url(emu.config.ws_base)}


async def post_message(emu: Emulator, call: Call) -> JsonDict:
    ws = emu.workspace
    channel = ws.channel(call.text("channel"))
    text, blocks = _message_content(call)
    _rate_limit(emu, channel.id)
    thread_ts = call.text("thread_ts") or None
    try:
        msg = ws.post(channel.id, ws.bot_user_id, text, blocks=blocks, thread_ts=thread_ts)
    except NotFound as exc:
        raise ApiError("thread_not_found" if exc.error == "message_not_found" else exc.error) from None
    return {"channel": channel.id, "ts": msg.ts, "message": {**msg.to_slack(), "team": ws.team_id}}


async def post_ephemeral(emu: Emulator, call: Call) -> JsonDict:
    ws = emu.workspace
    channel = ws.channel(call.text("channel"))
    user = ws.user(call.text("user"))
    text, blocks = _message_content(call)
    msg = ws.post(
        channel.id,
        ws.bot_user_id,
        text,
        blocks=blocks,
        thread_ts=call.text("thread_ts") or None,
        ephemeral_to=user.id,
    )
    return {"message_ts": msg.ts}


async def update(emu: Emulator, call: Call) -> JsonDict:
    ws = emu.workspace
    channel = _by_id(emu, call)
    old = ws.message(channel.id, call.text("ts"))
    if old.user != ws.bot_user_id:
        raise ApiError("cant_update_message")
    blocks = call.json_list("blocks")
    if blocks is not None:
        try:
            check_blocks(blocks)
        except LimitError as exc:
            raise ApiError(exc.error) from None
    text = call.args.get("text")
    msg = ws.update(
        channel.id, old.ts, text=None if text is None else truncate_text(str(text)), blocks=blocks
    )
    return {"channel": channel.id, "ts": msg.ts, "text": msg.text, "message": msg.to_slack()}


async def users_info(emu: Emulator, call: Call) -> JsonDict:
    return {"user": emu.workspace.user(call.text("user")).to_slack()}


async def conversations_info(emu: Emulator, call: Call) -> JsonDict:
    return {"channel": _by_id(emu, call).to_slack()}


def _reaction(add: bool) -> Handler:
    async def handler(emu: Emulator, call: Call) -> JsonDict:
        ws = emu.workspace
        name = call.text("name").strip(":")
        if not name:
            raise ApiError("invalid_name")
        channel = _by_id(emu, call)
        ws.react(channel.id, call.text("timestamp"), name, ws.bot_user_id, add=add)
        return {}

    return handler


async def delete(emu: Emulator, call: Call) -> JsonDict:
    ws = emu.workspace
    channel = _by_id(emu, call)
    msg = ws.message(channel.id, call.text("ts"))
    if msg.user != ws.bot_user_id:
        raise ApiError("cant_delete_message")
    ws.delete(channel.id, msg.ts)
    return {"channel": channel.id, "ts": msg.ts}


async def conversations_open(emu: Emulator, call: Call) -> JsonDict:
    users = [u for u in call.text("users").split(",") if u.strip()]
    if len(users) != 1:  # group DMs are not emulated
        raise ApiError("invalid_arguments" if not users else "not_supported")
    channel = emu.workspace.open_im(users[0].strip())
    return {"channel": {"id": channel.id}}


def _visible(emu: Emulator, channel_id: str) -> list[JsonDict]:
    counts = emu.workspace.reply_counts(channel_id)
    out = []
    for msg in emu.workspace.listing(channel_id):
        if msg.deleted or msg.ephemeral_to:
            continue
        item = msg.to_slack()
        if msg.ts in counts:
            item["reply_count"] = counts[msg.ts]
        out.append(item)
    return out


def _limit(call: Call) -> int:
    try:
        return max(1, min(1000, int(call.text("limit") or 100)))
    except ValueError:
        raise ApiError("invalid_limit") from None


async def history(emu: Emulator, call: Call) -> JsonDict:
    channel = _by_id(emu, call)
    top = [m for m in _visible(emu, channel.id) if m.get("thread_ts") in (None, m["ts"])]
    newest_first = top[::-1][: _limit(call)]
    return {
        "messages": newest_first,
        "has_more": len(top) > len(newest_first),
        "pin_count": 0,
        "response_metadata": {"next_cursor": ""},
    }


async def replies(emu: Emulator, call: Call) -> JsonDict:
    channel = _by_id(emu, call)
    ts = call.text("ts")
    thread = [m for m in _visible(emu, channel.id) if m["ts"] == ts or m.get("thread_ts") == ts]
    if not thread:
        raise ApiError("thread_not_found")
    return {"messages": thread[: _limit(call)], "has_more": False, "response_metadata": {"next_cursor": ""}}


async def permalink(emu: Emulator, call: Call) -> JsonDict:
    channel = _by_id(emu, call)
    msg = emu.workspace.message(channel.id, call.text("message_ts"))
    link = f"{emu.config.base_url}/archives/{channel.id}/p{msg.ts.replace('.', '')}"
    return {"channel": channel.id, "permalink": link}


async def api_test(emu: Emulator, call: Call) -> JsonDict:
    return {"args": {k: v for k, v in call.args.items() if isinstance(v, str)}}


METHODS: dict[str, Handler] = {
    "api.test": api_test,
    "chat.delete": delete,
    "chat.getPermalink": permalink,
    "conversations.open": conversations_open,
    "conversations.history": history,
    "conversations.replies": replies,
    "auth.test": auth_test,
    "apps.connections.open": connections_open,
    "chat.postMessage": post_message,
    "chat.postEphemeral": post_ephemeral,
    "chat.update": update,
    "users.info": users_info,
    "conversations.info": conversations_info,
    "reactions.add": _reaction(add=True),
    "reactions.remove": _reaction(add=False),
    **FILE_METHODS,
}
