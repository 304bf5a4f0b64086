"""The supervisor with real processes: health waits, logs, restart with back-off, clean group stop."""

from __future__ import annotations

import asyncio
import io
import os
import signal
import sys
from pathlib import Path

import pytest

from chatops.launcher.output import Output
from chatops.launcher.spec import Component, Health
from chatops.launcher.supervisor import StartFailed, Supervisor, backoff
from tools.harness.ports import free_port
from tools.harness.servers import NatsServer
from tools.harness.up import in_groups
from tools.harness.wait import eventually

TOY = str(Path(__file__).with_name("toy_service.py"))


def toy(name: str, port: int) -> Component:
    return Component(
        name,
        (sys.executable, TOY, str(port)),
        {"PYTHONUNBUFFERED": "1"},
        Health(url=f"http://127.0.0.1:{port}/healthz"),
    )


def test_backoff_doubles_up_to_thirty_seconds():
    assert [backoff(n) for n in (1, 2, 3, 4, 5, 6, 9)] == [1, 2, 4, 8, 16, 30, 30]


async def test_start_waits_for_health_logs_output_and_stop_leaves_nothing(tmp_path):
    buf = io.StringIO()
    port = free_port()
    async with Supervisor(Output(buf, ["toy"], colour=False), tmp_path / "logs") as sup:
        child = await sup.start(toy("toy", port))
        assert child.healthy
        await eventually(lambda: "toy listening" in buf.getvalue(), what="the toy's first line")
        pgids = set(child.pgids)
        assert len(in_groups(pgids)) == 2  # the toy and its grandchild
    assert in_groups(pgids) == []
    assert "toy | toy listening on" in buf.getvalue()
    assert f"toy listening on {port}" in (tmp_path / "logs" / "toy.log").read_text()


async def test_a_crashed_component_is_restarted_and_says_so(tmp_path):
    buf = io.StringIO()
    async with Supervisor(Output(buf, ["toy"], colour=False), tmp_path / "logs") as sup:
        child = await sup.start(toy("toy", free_port()))
        first = child.pid
        os.kill(first, signal.SIGKILL)
        await eventually(
            lambda: child.restarts == 1 and child.healthy and child.pid != first, what="a restart"
        )
        assert "toy exited with code -9; restarting it in 1s" in buf.getvalue()
        assert f"toy is running again (pid {child.pid})" in buf.getvalue()
        pgids = set(child.pgids)
    assert len(pgids) == 2
    assert in_groups(pgids) == []  # the first run's orphaned grandchild is gone as well


async def test_a_component_that_stops_answering_its_health_check_is_restarted(tmp_path):
    buf = io.StringIO()
    port = free_port()
    out = Output(buf, ["toy"], colour=False)
    async with Supervisor(out, tmp_path / "logs", health_interval=0.2, unanswered_limit=3) as sup:
        child = await sup.start(toy("toy", port))
        first = child.pid
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /freeze HTTP/1.0\r\n\r\n")
        await writer.drain()
        await eventually(lambda: "freezing" in buf.getvalue(), what="the toy to freeze")
        await eventually(
            lambda: child.restarts == 1 and child.healthy and child.pid != first, what="a restart"
        )
        writer.close()
        text = buf.getvalue()
        assert (
            f"toy stopped answering its health check (http://127.0.0.1:{port}/healthz: "
            "no answer 3 times in a row, 0.2s apart); killed it; restarting it in 1s"
        ) in text
        assert f"toy is running again (pid {child.pid})" in text
        pgids = set(child.pgids)
    assert in_groups(pgids) == []


async def test_a_component_that_answers_unhealthy_is_left_running(tmp_path):
    # 503 ("NATS connection lost") is an answer: the process lives, and a restart would not help.
    port = free_port()
    code = (
        "import http.server, sys\n"
        "class H(http.server.BaseHTTPRequestHandler):\n"
        "    def do_GET(self):\n"
        "        self.send_response(200 if H.n == 0 else 503); self.end_headers(); H.n += 1\n"
        "    def log_message(self, *a): print('checked', flush=True)\n"
        "H.n = 0\n"
        f"http.server.HTTPServer(('127.0.0.1', {port}), H).serve_forever()\n"
    )
    comp = Component("moody", (sys.executable, "-c", code), health=Health(url=f"http://127.0.0.1:{port}/h"))
    buf = io.StringIO()
    out = Output(buf, ["moody"], colour=False)
    async with Supervisor(out, tmp_path / "logs", health_interval=0.1, unanswered_limit=2) as sup:
        child = await sup.start(comp)
        await eventually(lambda: buf.getvalue().count("checked") >= 8, what="several checks answered 503")
        assert child.process is not None and child.process.returncode is None
        assert not child.healthy and child.restarts == 0
    assert "restarting" not in buf.getvalue()


async def test_a_component_that_exits_early_fails_with_its_log(tmp_path):
    comp = Component(
        "broken",
        (sys.executable, "-c", "print('bad config'); raise SystemExit(3)"),
        health=Health(url=f"http://127.0.0.1:{free_port()}/healthz"),
    )
    async with Supervisor(Output(io.StringIO(), ["broken"], colour=False), tmp_path / "logs") as sup:
        with pytest.raises(StartFailed, match=r"broken exited with code 3 .*broken\.log"):
            await sup.start(comp)
    await eventually(lambda: "bad config" in (tmp_path / "logs" / "broken.log").read_text(), what="the log")


async def test_a_missing_binary_is_one_clear_line(tmp_path):
    comp = Component("ghost", ("no-such-binary-chatops",), install_hint="install it with apt-get")
    async with Supervisor(Output(io.StringIO(), ["ghost"], colour=False), tmp_path / "logs") as sup:
        with pytest.raises(StartFailed, match="no-such-binary-chatops is not installed: install it"):
            await sup.start(comp)


async def test_health_timeout_names_the_check(tmp_path):
    port = free_port()
    # A process that lives but never listens: the scenario, not a wait.
    comp = Component("sleepy", (sys.executable, "-c", "import time; time.sleep(60)"), health=Health(tcp=port))
    async with Supervisor(
        Output(io.StringIO(), ["sleepy"], colour=False), tmp_path / "logs", health_timeout=1.5
    ) as sup:
        with pytest.raises(StartFailed, match=f"sleepy was not healthy at tcp 127.0.0.1:{port}"):
            await sup.start(comp)
        pgids = set(sup.children["sleepy"].pgids)
    assert in_groups(pgids) == []


async def test_real_nats_server_under_supervision(tmp_path):
    port = free_port()
    comp = NatsServer(tmp_path, port=port).proc.component  # the harness's component, run by the launcher
    async with Supervisor(Output(io.StringIO(), ["nats"], colour=False), tmp_path / "logs") as sup:
        child = await sup.start(comp)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        assert (await reader.readline()).startswith(b"INFO ")
        writer.close()
        pgids = set(child.pgids)
    assert in_groups(pgids) == []
