"""The Web API methods the emulator answers, each `(emulator, call) -> answer fields`."""

from __future__ import annotations

from typing import Any

from slackemu.calls import ApiError, Call, Handler
from slackemu.core import Emulator
from slackemu.limits import LimitError, check_blocks, truncate_text
from slackemu.state import Channel, JsonDict, NotFound
from slackemu.uploads import FILE_METHODS


def _invalid_blocks(detail: str) -> ApiError:
    """Slack's answer to blocks it refuses: the error, and what was wrong in `errors`."""
    return ApiError(
        "invalid_blocks", extra={"errors": [detail], "response_metadata": {"messages": [f"[ERROR] {detail}"]}}
    )


def _check_blocks(emu: Emulator, call: Call, blocks: list[Any]) -> None:
    """Slack's block validation, and the `invalid_blocks` fault for calls that carry blocks."""
    try:
        check_blocks(blocks)
    except LimitError as exc:
        raise _invalid_blocks(str(exc)) from None
    if blocks and emu.faults.take("invalid_blocks", call.method, emu.now()) is not None:
        raise _invalid_blocks("unsupported type: fault [json-pointer:/blocks/0/type]")


def _message_content(emu: Emulator, call: Call) -> tuple[str, list[Any]]:
    blocks = call.json_list("blocks") or []
    text = call.text("text")
    if not text and not blocks and not call.args.get("attachments"):
        raise ApiError("no_text")
    _check_blocks(emu, call, blocks)
    return truncate_text(text), blocks


def _metadata(call: Call) -> JsonDict | None:
    """`metadata` as Slack takes it: {event_type: str, event_payload: object}."""
    metadata = call.json_dict("metadata")
    if metadata is None:
        return None
    if not isinstance(metadata.get("event_type"), str) or not metadata["event_type"]:
        raise ApiError("invalid_metadata_format")
    if not isinstance(metadata.get("event_payload", {}), dict):
        raise ApiError("invalid_metadata_format")
    return {"event_type": metadata["event_type"], "event_payload": metadata.get("event_payload", {})}


def _postable(channel: Channel) -> Channel:
    """The bot may post only where it is a member, and nowhere archived."""
    if channel.archived:
        raise ApiError("is_archived")
    if not channel.bot_member:
        raise ApiError("not_in_channel")
    return channel


def _readable(channel: Channel) -> Channel:
    """A bot token reads the history of conversations the bot is in."""
    if not channel.bot_member:
        raise ApiError("not_in_channel")
    return channel


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
    channel = _postable(ws.channel(call.text("channel")))
    text, blocks = _message_content(emu, call)
    metadata = _metadata(call)
    _rate_limit(emu, channel.id)
    thread_ts = call.text("thread_ts") or None
    try:
        msg = ws.post(channel.id, ws.bot_user_id, text, blocks=blocks, thread_ts=thread_ts, metadata=metadata)
    except NotFound as exc:
        raise ApiError("thread_not_found" if exc.error == "message_not_found" else exc.error) from None
    return {
        "channel": channel.id,
        "ts": msg.ts,
        "message": {**msg.to_slack(metadata=True), "team": ws.team_id},
    }


async def post_ephemeral(emu: Emulator, call: Call) -> JsonDict:
    ws = emu.workspace
    channel = _postable(ws.channel(call.text("channel")))
    user = ws.user(call.text("user"))
    text, blocks = _message_content(emu, call)
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
    channel = _postable(_by_id(emu, call))
    old = ws.message(channel.id, call.text("ts"))
    if old.user != ws.bot_user_id:
        raise ApiError("cant_update_message")
    blocks = call.json_list("blocks")
    if blocks is not None:
        _check_blocks(emu, call, blocks)
    text = call.args.get("text")
    msg = ws.update(
        channel.id,
        old.ts,
        text=None if text is None else truncate_text(str(text)),
        blocks=blocks,
        metadata=_metadata(call),
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


def _visible(emu: Emulator, channel_id: str, *, metadata: bool = False) -> list[JsonDict]:
    counts = emu.workspace.reply_counts(channel_id)
    out = []
    for msg in emu.workspace.listing(channel_id):
        if msg.deleted or msg.ephemeral_to:
            continue
        item = msg.to_slack(metadata=metadata)
        if msg.ts in counts:
            item["reply_count"] = counts[msg.ts]
        out.append(item)
    return out


def _limit(call: Call) -> int:
    try:
        return max(1, min(1000, int(call.text("limit") or 100)))
    except ValueError:
        raise ApiError("invalid_limit") from None


def _window(call: Call, messages: list[JsonDict]) -> list[JsonDict]:
    """Messages within `oldest` and `latest` (exclusive unless `inclusive`), as Slack filters them."""
    try:
        oldest = float(call.text("oldest") or 0)
        latest = float(call.text("latest") or "inf")
    except ValueError:
        raise ApiError("invalid_ts_oldest") from None
    inclusive = call.flag("inclusive")

    def inside(ts: str) -> bool:
        t = float(ts)
        return (oldest <= t <= latest) if inclusive else (oldest < t < latest)

    return [m for m in messages if inside(m["ts"])]


async def history(emu: Emulator, call: Call) -> JsonDict:
    """Top-level messages newest first; `cursor` pages on to older ones (the ts to go below)."""
    channel = _by_id(emu, call)
    if not channel.is_im:
        _readable(channel)
    visible = _visible(emu, channel.id, metadata=call.flag("include_all_metadata"))
    top = _window(call, [m for m in visible if m.get("thread_ts") in (None, m["ts"])])
    cursor = call.text("cursor")
    older = [m for m in top if not cursor or float(m["ts"]) < float(cursor)]
    newest_first = older[::-1][: _limit(call)]
    more = len(older) > len(newest_first)
    return {
        "messages": newest_first,
        "has_more": more,
        "pin_count": 0,
        "response_metadata": {"next_cursor": newest_first[-1]["ts"] if more else ""},
    }


async def replies(emu: Emulator, call: Call) -> JsonDict:
    channel = _by_id(emu, call)
    if not channel.is_im:
        _readable(channel)
    ts = call.text("ts")
    visible = _visible(emu, channel.id, metadata=call.flag("include_all_metadata"))
    thread = [m for m in visible if m["ts"] == ts or m.get("thread_ts") == ts]
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
