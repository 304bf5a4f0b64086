"""The emulator's HTTP application: Web API, Socket Mode, control API, page, health."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from slackemu import control, uploads, webapi, webhooks
from slackemu.core import Emulator
from slackemu.files import MAX_FILE_BYTES

PAGE = Path(__file__).parent / "page"


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


async def index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(PAGE / "index.html")


def build_app(emulator: Emulator) -> web.Application:
    """Wire every route to one emulator; the emulator closes with the app."""
    # Room for the largest upload the emulator takes, and a multipart form around it.
    app = web.Application(client_max_size=MAX_FILE_BYTES + 64 * 1024)
    app["emulator"] = emulator
    app.router.add_get("/healthz", healthz)
    app.router.add_route("*", "/api/{method}", webapi.handle)
    app.router.add_post("/services/{team}/{hook}/{secret}", webhooks.handle)
    app.router.add_get("/link/", emulator.sockets.handle)
    control.add_routes(app)
    uploads.add_routes(app)
    app.router.add_get("/", index)
    app.router.add_static("/page/", PAGE)

    async def close(_: web.Application) -> None:
        await emulator.close()

    app.on_shutdown.append(close)
    return app
