"""How the launcher and the harness tell a component is healthy, and start it in a group of its own."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from pathlib import Path

from aiohttp import web

from chatops.launcher.process import LOOPBACK, command, probe, start_options
from chatops.launcher.spec import Component, Health
from tools.harness.ports import free_port
from tools.harness.wait import eventually_sync


async def test_an_http_check_says_the_status_and_nothing_listening_is_no_answer() -> None:
    async def ok(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def sick(_: web.Request) -> web.Response:
        return web.Response(status=503, text="waiting for NATS")

    app = web.Application()
    app.router.add_get("/ok", ok)
    app.router.add_get("/sick", sick)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, LOOPBACK, port).start()
    try:
        base = f"http://{LOOPBACK}:{port}"
        assert await asyncio.to_thread(probe, Health(url=f"{base}/ok")) == 200
        assert await asyncio.to_thread(probe, Health(url=f"{base}/sick")) == 503  # alive, not ready
        assert await asyncio.to_thread(probe, Health(url=f"{base}/missing")) == 404
    finally:
        await runner.cleanup()
    assert await asyncio.to_thread(probe, Health(url=f"http://{LOOPBACK}:{port}/ok")) is None


def test_a_tcp_check_is_200_once_the_port_accepts() -> None:
    port = free_port()
    assert probe(Health(tcp=port)) is None
    with socket.create_server((LOOPBACK, port)):
        assert probe(Health(tcp=port)) == 200


def test_a_component_runs_with_our_environment_and_its_own_on_top_in_a_group_of_its_own() -> None:
    comp = Component("x", ("true",), {"LOG_LEVEL": "DEBUG", "ONLY_HERE": "1"})
    options = start_options(comp)
    assert options["env"]["PATH"] == os.environ["PATH"]
    assert options["env"]["ONLY_HERE"] == "1" and options["env"]["LOG_LEVEL"] == "DEBUG"
    assert options["start_new_session"] is True


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_component_started_for_a_test_dies_with_the_process_that_started_it(tmp_path) -> None:
    """The starter (here a child of ours) is killed: its component gets SIGTERM and exits."""
    marker = tmp_path / "pid"
    # Both processes just live (the sleeps are the scenario, not a wait) until one is killed.
    lives = f"import os, time; open({str(marker)!r}, 'w').write(str(os.getpid())); time.sleep(60)"
    child = Component("x", (sys.executable, "-c", lives))
    argv = list(command(child, die_with_parent=True))
    starts = f"import subprocess, time; subprocess.Popen({argv!r}); time.sleep(60)"
    starter = subprocess.Popen([sys.executable, "-c", starts])
    try:
        pid = int(eventually_sync(lambda: marker.exists() and marker.read_text(), what="the component"))
        starter.kill()
        starter.wait(10)
        eventually_sync(lambda: not alive(pid), what="the component gone with its starter")
    finally:
        starter.kill()
    assert command(child) == child.argv  # the launcher's children are run as they are
