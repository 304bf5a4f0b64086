"""Incoming webhooks: `POST /services/<team>/<hook>/<secret>` with JSON puts a message in the hook's
channel and answers in plain text, as Slack does: `ok`, or an error word with a 4xx/5xx status."""

from __future__ import annotations

import json
import time
from typing import Any

from aiohttp import web

from chatops import logs
from slackemu.core import Emulator
from slackemu.limits import LimitError, check_blocks, truncate_text
from slackemu.state import JsonDict, NotFound, default_workspace

log = logs.get_logger(__name__)

HOOK_ID = "B0EMUHOOK"  # the webhook's id, the middle part of its URL
HOOK_USER = "U0EMUHOOK"  # who its messages are from: a bot member named like Slack's own integration
HOOK_NAME = "incoming-webhook"
# What the request log calls a webhook post (the Web API calls are logged by method name).
LOG_METHOD = "incoming-webhook"
TEAM_ID = default_workspace().team_id


def url(base_url: str, secret: str) -> str:
    """The webhook's URL on an emulator at `base_url`, e.g. for Alertmanager's slack_configs."""
    return f"{base_url.rstrip('/')}/services/{TEAM_ID}/{HOOK_ID}/{secret}"


class Refused(Exception):
    """Slack's answer to a webhook post it does not take: the HTTP status and the error word."""

    def __init__(self, status: int, error: str) -> None:
        super().__init__(error)
        self.status = status
        self.error = error


def _payload(raw: bytes, content_type: str, form: dict[str, str]) -> JsonDict:
    """The JSON body, or the form field `payload=` that legacy integrations send."""
    text = form.get("payload", "") if content_type == "application/x-www-form-urlencoded" else raw.decode()
    try:
        body: Any = json.loads(text)
    except (ValueError, UnicodeDecodeError):
        raise Refused(400, "invalid_payload") from None
    if not isinstance(body, dict):
        raise Refused(400, "invalid_payload")
    return body


def _list_of_objects(body: JsonDict, key: str) -> list[JsonDict]:
    value = body.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise Refused(400, "invalid_payload")
    return value


def post(emu: Emulator, team: str, hook: str, secret: str, body: JsonDict) -> str:
    """Put the payload's message in the webhook's channel; returns its ts or raises Refused."""
    cfg = emu.config
    if not cfg.webhook_secret or team != TEAM_ID or hook != HOOK_ID:
        raise Refused(404, "no_service")
    if secret != cfg.webhook_secret:
        raise Refused(403, "invalid_token")
    now = emu.now()
    if emu.faults.take("server_error", LOG_METHOD, now) is not None:
        raise Refused(500, "rollup_error")
    if emu.faults.take("ratelimited", LOG_METHOD, now) is not None:
        raise Refused(429, "rate_limited")
    text = body.get("text", "")
    if not isinstance(text, str):
        raise Refused(400, "invalid_payload")
    blocks, attachments = _list_of_objects(body, "blocks"), _list_of_objects(body, "attachments")
    if not text and not blocks and not attachments:
        raise Refused(400, "no_text")
    try:
        check_blocks(blocks)
    except LimitError as exc:
        raise Refused(400, exc.error) from None
    ws = emu.workspace
    try:
        # A webhook posts to the channel it was made for; `channel` in the payload is ignored, as
        # Slack ignores it for webhooks of current apps.
        channel = ws.channel(cfg.webhook_channel)
    except NotFound:
        raise Refused(404, "channel_not_found") from None
    ws.add_bot(HOOK_USER, HOOK_NAME, HOOK_ID)
    msg = ws.post(channel.id, HOOK_USER, truncate_text(text), blocks=blocks, attachments=attachments)
    return msg.ts


async def handle(request: web.Request) -> web.Response:
    """Answer one webhook post; it lands in the request log like a Web API call (no secret)."""
    emu: Emulator = request.app["emulator"]
    entry: JsonDict = {"at": time.time(), "method": LOG_METHOD, "http_method": request.method}
    raw = await request.read()
    form: dict[str, str] = {}
    if request.content_type == "application/x-www-form-urlencoded":
        form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
    match = request.match_info
    try:
        body = _payload(raw, request.content_type, form)
        entry["args"] = body
        post(emu, match["team"], match["hook"], match["secret"], body)
        status, answer = 200, "ok"
    except Refused as exc:
        status, answer = exc.status, exc.error
    entry.update(status=status, ok=status == 200, error=None if status == 200 else answer)
    emu.record(entry)
    log.info("webhook.post", status=status, error=entry["error"])
    return web.Response(status=status, text=answer, content_type="text/plain")
