"""Slack's external file upload: the files.* methods, the upload URL, and serving the files back."""

from __future__ import annotations

import time

from aiohttp import BodyPartReader, web

from chatops import logs
from slackemu.calls import ApiError, Call, Handler
from slackemu.core import Emulator
from slackemu.files import MAX_ALT_TEXT, MAX_FILE_BYTES, StoredFile, UploadRefused
from slackemu.limits import LimitError, check_blocks, truncate_text
from slackemu.state import JsonDict, NotFound

log = logs.get_logger(__name__)


def _length(call: Call) -> int:
    try:
        length = int(call.text("length"))
    except ValueError:
        raise ApiError("invalid_arguments") from None
    if length <= 0:
        raise ApiError("invalid_arguments")
    return length


async def get_upload_url(emu: Emulator, call: Call) -> JsonDict:
    """files.getUploadURLExternal: `filename` and `length` in, `upload_url` and `file_id` out."""
    name = call.text("filename").strip()
    if not name:
        raise ApiError("invalid_arguments")
    length = _length(call)
    if length > MAX_FILE_BYTES:
        raise ApiError("file_upload_size_restricted")
    alt_txt = call.text("alt_txt")
    if len(alt_txt) > MAX_ALT_TEXT:
        raise ApiError("alt_txt_too_large")
    stored = emu.files.reserve(name, length, emu.workspace.bot_user_id, alt_txt)
    return {"upload_url": emu.files.upload_url(stored), "file_id": stored.id}


def _file_list(call: Call) -> list[tuple[str, str]]:
    """The `files` argument: a JSON array of {"id", "title"?} (a string in form bodies)."""
    items = call.json_list("files")
    if not items:
        raise ApiError("invalid_arguments")
    out = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            raise ApiError("invalid_arguments")
        out.append((item["id"], str(item.get("title") or "")))
    return out


def _share_targets(emu: Emulator, call: Call) -> list[str]:
    ids = [call.text("channel_id")] if call.text("channel_id") else []
    ids += [c.strip() for c in call.text("channels").split(",") if c.strip()]
    if call.text("thread_ts") and len(ids) > 1:
        raise ApiError("invalid_arguments")  # a thread lives in one channel
    for channel_id in ids:
        if channel_id not in emu.workspace.channels:
            raise ApiError("channel_not_found")
    return ids


async def complete_upload(emu: Emulator, call: Call) -> JsonDict:
    """files.completeUploadExternal: finish the files and share them in one message per channel."""
    wanted = _file_list(call)
    targets = _share_targets(emu, call)
    thread_ts = call.text("thread_ts") or None
    ws = emu.workspace
    if thread_ts is not None:
        for channel_id in targets:
            try:
                ws.message(channel_id, thread_ts)
            except NotFound:
                raise ApiError("thread_not_found") from None
    blocks = call.json_list("blocks") or []
    comment = call.text("initial_comment")
    if comment:
        blocks = []  # Slack ignores blocks when there is an initial comment
    try:
        check_blocks(blocks)
    except LimitError as exc:
        raise ApiError(exc.error) from None
    for file_id, _ in wanted:  # check every file before finishing any
        stored = emu.files.files.get(file_id)
        if stored is None or stored.data is None or stored.completed:
            raise ApiError("file_not_found")
    done: list[StoredFile] = [emu.files.complete(file_id, title) for file_id, title in wanted]
    for channel_id in targets:
        done = [emu.files.shared(f.id, channel_id) for f in done]
        ws.post(
            channel_id,
            ws.bot_user_id,
            truncate_text(comment),
            blocks=blocks,
            thread_ts=thread_ts,
            files=[emu.files.to_slack(f) for f in done],
        )
    return {"files": [emu.files.to_slack(f) for f in done]}


async def file_info(emu: Emulator, call: Call) -> JsonDict:
    stored = emu.files.get(call.text("file"))
    return {"file": emu.files.to_slack(stored), "comments": [], "response_metadata": {"next_cursor": ""}}


async def retired_upload(emu: Emulator, call: Call) -> JsonDict:
    """files.upload was retired by Slack; apps must use the external upload flow."""
    raise ApiError("method_deprecated")


FILE_METHODS: dict[str, Handler] = {
    "files.getUploadURLExternal": get_upload_url,
    "files.completeUploadExternal": complete_upload,
    "files.info": file_info,
    "files.upload": retired_upload,
}


async def _body_bytes(request: web.Request) -> bytes:
    """Raw bytes, or the one file part of a multipart form: Slack takes either."""
    if request.content_type.startswith("multipart/"):
        reader = await request.multipart()
        async for part in reader:
            if isinstance(part, BodyPartReader) and part.filename is not None:
                return bytes(await part.read(decode=False))
        raise UploadRefused(400, "the form has no file part")
    return await request.read()


async def receive(request: web.Request) -> web.Response:
    """POST /upload/v1/<key>: the bytes of a file announced by files.getUploadURLExternal."""
    emu: Emulator = request.app["emulator"]
    key = request.match_info["key"]
    try:
        stored = emu.files.receive(key, await _body_bytes(request))
    except UploadRefused as exc:
        log.info("upload.refused", status=exc.status, reason=str(exc))
        emu.record(
            {"at": time.time(), "method": "upload", "http_method": "POST", "status": exc.status, "ok": False}
        )
        return web.Response(status=exc.status, text=str(exc))
    emu.record(
        {
            "at": time.time(),
            "method": "upload",
            "http_method": "POST",
            "status": 200,
            "ok": True,
            "file_id": stored.id,
        }
    )
    return web.Response(text=f"OK - {stored.length}")


def _served(stored: StoredFile, download: bool = False) -> web.Response:
    headers = {"Content-Disposition": f'attachment; filename="{stored.name}"'} if download else {}
    return web.Response(body=stored.data or b"", content_type=stored.mimetype, headers=headers)


async def private(request: web.Request) -> web.Response:
    """GET url_private / url_private_download: like Slack, only with the bot token."""
    emu: Emulator = request.app["emulator"]
    auth = request.headers.get("Authorization", "")
    if auth != f"Bearer {emu.config.bot_token}":
        return web.Response(status=403, text="url_private needs Authorization: Bearer <token>")
    file_id = request.match_info["ref"].removeprefix(f"{emu.workspace.team_id}-")
    try:
        stored = emu.files.get(file_id)
    except NotFound:
        raise web.HTTPNotFound() from None
    return _served(stored, download="download" in request.match_info)


async def for_page(request: web.Request) -> web.Response:
    """GET /control/files/<id>: the file for the emulator's own page (the control API has no token)."""
    emu: Emulator = request.app["emulator"]
    try:
        return _served(emu.files.get(request.match_info["file_id"]))
    except NotFound as exc:
        return web.json_response({"ok": False, "error": f"{exc.error}: {exc}"}, status=404)


def add_routes(app: web.Application) -> None:
    app.router.add_post("/upload/v1/{key}", receive)
    app.router.add_get("/files-pri/{ref}/{name}", private)
    app.router.add_get("/files-pri/{ref}/{download:download}/{name}", private)
    app.router.add_get("/control/files/{file_id}", for_page)
