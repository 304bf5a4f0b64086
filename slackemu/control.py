"""The control API tests and the web page use: make users and channels, act as a human, inspect."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import WSMsgType, web

from chatops import logs
from slackemu.core import Emulator, state_json
from slackemu.faults import Fault
from slackemu.state import JsonDict, NotFound

log = logs.get_logger(__name__)
Route = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _emu(request: web.Request) -> Emulator:
    emulator: Emulator = request.app["emulator"]
    return emulator


def _bad(message: str, status: int = 400) -> web.Response:
    return web.json_response({"ok": False, "error": message}, status=status)


async def _body(request: web.Request) -> JsonDict:
    try:
        body = await request.json() if request.can_read_body else {}
    except ValueError:
        raise web.HTTPBadRequest(
            text=json.dumps({"ok": False, "error": "body must be JSON"}), content_type="application/json"
        ) from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(
            text=json.dumps({"ok": False, "error": "body must be a JSON object"}),
            content_type="application/json",
        )
    return body


def guarded(route: Route) -> Route:
    """Turn lookup and validation failures into 404/400 answers with a readable message."""

    async def wrapper(request: web.Request) -> web.StreamResponse:
        try:
            return await route(request)
        except NotFound as exc:
            return _bad(f"{exc.error}: {exc}", 404)
        except KeyError as exc:
            return _bad(f"missing field: {exc.args[0]}")
        except (ValueError, TypeError) as exc:
            return _bad(str(exc) or type(exc).__name__)

    return wrapper


async def get_state(request: web.Request) -> web.Response:
    return web.json_response({"ok": True, **state_json(_emu(request))})


async def create_user(request: web.Request) -> web.Response:
    body = await _body(request)
    team = body.get("team_id")
    user = _emu(request).workspace.add_user(
        str(body["name"]), body.get("real_name"), str(team) if team else None
    )
    return web.json_response(
        {"ok": True, "user": {"id": user.id, "name": user.name, "team_id": user.team_id}}
    )


async def create_channel(request: web.Request) -> web.Response:
    body = await _body(request)
    channel = _emu(request).workspace.add_channel(str(body["name"]))
    return web.json_response({"ok": True, "channel": {"id": channel.id, "name": channel.name}})


async def change_channel(request: web.Request) -> web.Response:
    """Remove the bot from a channel or invite it back; archive or unarchive the channel."""
    body = await _body(request)
    flags = {k: body[k] for k in ("bot_member", "archived") if k in body}
    if not flags or not all(isinstance(v, bool) for v in flags.values()):
        raise ValueError("give bot_member and/or archived, each true or false")
    channel = _emu(request).workspace.set_channel(request.match_info["channel"], **flags)
    return web.json_response(
        {
            "ok": True,
            "channel": {"id": channel.id, "bot_member": channel.bot_member, "archived": channel.archived},
        }
    )


async def set_token(request: web.Request) -> web.Response:
    """Revoke the bot or app token (every call with it answers token_revoked), or restore it."""
    kind = request.match_info["kind"]
    if kind not in ("bot", "app"):
        raise ValueError("the token is bot or app")
    revoked = (await _body(request)).get("revoked")
    if not isinstance(revoked, bool):
        raise ValueError("revoked must be true or false")
    emu = _emu(request)
    if revoked:
        emu.revoked.add(kind)
    else:
        emu.revoked.discard(kind)
    log.info("token.changed", kind=kind, revoked=revoked)
    return web.json_response({"ok": True, "revoked_tokens": sorted(emu.revoked)})


async def open_im(request: web.Request) -> web.Response:
    body = await _body(request)
    channel = _emu(request).workspace.open_im(str(body["user_id"]))
    return web.json_response({"ok": True, "channel": {"id": channel.id, "name": channel.name}})


async def post_message(request: web.Request) -> web.Response:
    body = await _body(request)
    text = str(body.get("text", ""))
    if not text.strip():
        raise ValueError("text must not be empty")
    thread = body.get("thread_ts")
    msg = _emu(request).user_posts(
        str(body["user_id"]), str(body["channel_id"]), text, str(thread) if thread else None
    )
    return web.json_response({"ok": True, "ts": msg.ts, "channel": msg.channel})


async def list_messages(request: web.Request) -> web.Response:
    ws = _emu(request).workspace
    channel = ws.channel(request.query["channel"])
    counts = ws.reply_counts(channel.id)
    items = []
    for msg in ws.listing(channel.id):
        record = msg.to_record()
        if msg.ts in counts:
            record["reply_count"] = counts[msg.ts]
        items.append(record)
    return web.json_response({"ok": True, "channel": channel.id, "messages": items})


async def click(request: web.Request) -> web.Response:
    body = await _body(request)
    value = body.get("value")
    delivery = _emu(request).click(
        str(body["user_id"]),
        str(body["channel_id"]),
        str(body["message_ts"]),
        str(body["action_id"]),
        None if value is None else str(value),
    )
    return web.json_response({"ok": True, "delivery_id": delivery.id})


async def respond(request: web.Request) -> web.Response:
    """A response_url: what bolt's `respond()` posts to."""
    _emu(request).respond(request.match_info["key"], await _body(request))
    return web.json_response({"ok": True})


async def get_requests(request: web.Request) -> web.Response:
    method = request.query.get("method")
    items = [r for r in _emu(request).requests if method is None or r["method"] == method]
    return web.json_response({"ok": True, "requests": items})


async def clear_requests(request: web.Request) -> web.Response:
    _emu(request).requests.clear()
    return web.json_response({"ok": True})


async def get_deliveries(request: web.Request) -> web.Response:
    return web.json_response({"ok": True, "deliveries": _emu(request).deliveries.to_json()})


async def add_fault(request: web.Request) -> web.Response:
    emu = _emu(request)
    fault = Fault.parse(await _body(request), emu.now())
    await emu.add_fault(fault)
    return web.json_response({"ok": True, "faults": emu.faults.to_json(emu.now())})


async def clear_faults(request: web.Request) -> web.Response:
    _emu(request).faults.clear()
    return web.json_response({"ok": True})


async def socket_disconnect(request: web.Request) -> web.Response:
    body = await _body(request)
    count = await _emu(request).sockets.disconnect(str(body.get("reason", "refresh_requested")))
    return web.json_response({"ok": True, "connections": count})


async def set_request_url(request: web.Request) -> web.Response:
    emu = _emu(request)
    url = str((await _body(request)).get("url") or "")
    if url and not url.startswith(("http://", "https://")):
        raise ValueError("url must be an http:// URL, or empty for Socket Mode")
    emu.request_url = url
    verified = await emu.http.verify(url) if url else None
    return web.json_response({"ok": True, "request_url": url, "verification": verified})


async def verify_url(request: web.Request) -> web.Response:
    emu = _emu(request)
    if not emu.request_url:
        raise ValueError("no request URL is set (the emulator is in Socket Mode)")
    return web.json_response({"ok": True, "verification": await emu.http.verify(emu.request_url)})


async def live(request: web.Request) -> web.StreamResponse:
    """A websocket that says which channel changed, so the page can refresh it."""
    emu = _emu(request)
    sock = web.WebSocketResponse(heartbeat=20)
    await sock.prepare(request)
    changed: asyncio.Queue[str] = asyncio.Queue()
    unsubscribe = emu.workspace.on_change(changed.put_nowait)

    async def pump() -> None:
        while not sock.closed:
            channel = await changed.get()
            try:
                await sock.send_json({"type": "changed", "channel": channel})
            except (ConnectionError, RuntimeError):
                return  # the page went away; the read loop below ends too

    task = asyncio.get_running_loop().create_task(pump())
    try:
        async for frame in sock:
            if frame.type == WSMsgType.ERROR:
                break
    finally:
        unsubscribe()
        task.cancel()
    return sock


def add_routes(app: web.Application) -> None:
    routes: list[tuple[str, str, Any]] = [
        ("GET", "/control/state", get_state),
        ("POST", "/control/users", create_user),
        ("POST", "/control/channels", create_channel),
        ("PATCH", "/control/channels/{channel}", change_channel),
        ("PUT", "/control/tokens/{kind}", set_token),
        ("POST", "/control/ims", open_im),
        ("POST", "/control/messages", post_message),
        ("GET", "/control/messages", list_messages),
        ("POST", "/control/actions", click),
        ("GET", "/control/requests", get_requests),
        ("DELETE", "/control/requests", clear_requests),
        ("GET", "/control/deliveries", get_deliveries),
        ("POST", "/control/faults", add_fault),
        ("DELETE", "/control/faults", clear_faults),
        ("POST", "/control/socket/disconnect", socket_disconnect),
        ("PUT", "/control/request_url", set_request_url),
        ("POST", "/control/request_url/verify", verify_url),
        ("POST", "/actions/{key}", respond),
    ]
    for method, path, route in routes:
        app.router.add_route(method, path, guarded(route))
    app.router.add_get("/control/live", live)
