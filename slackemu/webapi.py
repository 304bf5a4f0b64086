"""The Web API endpoint: `POST|GET /api/<method>`, tokens checked, faults applied, calls logged."""

from __future__ import annotations

import asyncio
import time

from aiohttp import web

from chatops import logs
from slackemu.calls import ApiError, Call
from slackemu.core import Emulator
from slackemu.methods import METHODS
from slackemu.state import JsonDict, NotFound

log = logs.get_logger(__name__)
APP_METHODS = frozenset({"apps.connections.open"})
OPEN_METHODS = frozenset({"api.test"})  # answered without a token, as Slack does


def token_kind(emu: Emulator, token: str) -> str:
    if not token:
        return "none"
    if token == emu.config.bot_token:
        return "bot"
    if token == emu.config.app_token:
        return "app"
    return "unknown"


async def parse(request: web.Request, emu: Emulator) -> tuple[str, JsonDict]:
    """Merge query, form and JSON arguments; return the token and the rest."""
    args: JsonDict = dict(request.query)
    if request.method == "POST" and request.can_read_body:
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                raise ApiError("invalid_json") from None
            if not isinstance(body, dict):
                raise ApiError("json_not_object")
            args.update(body)
        else:
            form = await request.post()
            args.update({k: v if isinstance(v, str) else "<file>" for k, v in form.items()})
    auth = request.headers.get("Authorization", "")
    token = auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else ""
    token = token or str(args.pop("token", "") or "")
    args.pop("token", None)
    return token, args


def _authorize(emu: Emulator, method: str, kind: str) -> None:
    if method in OPEN_METHODS:
        return
    if kind == "none":
        raise ApiError("not_authed")
    if kind == "unknown":
        raise ApiError("invalid_auth")
    if kind in emu.revoked:
        raise ApiError("token_revoked")
    if (method in APP_METHODS) != (kind == "app"):
        raise ApiError("not_allowed_token_type")


def _fault(emu: Emulator, method: str) -> None:
    now = emu.now()
    if emu.faults.take("server_error", method, now) is not None:
        raise ApiError("internal_error", 500)
    if (fault := emu.faults.take("ratelimited", method, now)) is not None:
        raise ApiError("ratelimited", 429, {"Retry-After": str(fault.retry_after)})


def peer(request: web.Request) -> str:
    """`host:port` of the client's end of the connection: one value per TCP connection a client holds."""
    address = request.transport.get_extra_info("peername") if request.transport is not None else None
    return f"{address[0]}:{address[1]}" if isinstance(address, tuple) else ""


async def handle(request: web.Request) -> web.Response:
    """Answer one Web API call; every call lands in the request log (without its token)."""
    emu: Emulator = request.app["emulator"]
    method = request.match_info["method"]
    entry: JsonDict = {
        "at": time.time(),
        "method": method,
        "http_method": request.method,
        "peer": peer(request),
    }
    status, headers = 200, {}
    try:
        token, args = await parse(request, emu)
        kind = token_kind(emu, token)
        entry.update(token_kind=kind, args=args)
        handler = METHODS.get(method)
        if handler is None:
            raise ApiError("unknown_method")
        _authorize(emu, method, kind)
        _fault(emu, method)
        body: JsonDict = {"ok": True, **await handler(emu, Call(method, kind, args))}
        if (slow := emu.faults.take("slow", method, emu.now())) is not None:
            # The call took effect; its answer is late (a slow network after Slack committed it).
            await asyncio.sleep(slow.delay)
    except ApiError as exc:
        body, status, headers = {"ok": False, "error": exc.error, **exc.extra}, exc.status, exc.headers
    except NotFound as exc:
        body = {"ok": False, "error": exc.error}
    except Exception:  # a bug here must not take the emulator down; the log has the traceback
        log.exception("api.failed", method=method)
        body, status = {"ok": False, "error": "fatal_error"}, 500
    entry.update(status=status, ok=body["ok"], error=body.get("error"))
    emu.record(entry)
    log.info("api.call", method=method, status=status, error=body.get("error"))
    return web.json_response(body, status=status, headers=headers)
