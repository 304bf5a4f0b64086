"""`python -m ops` as real processes: two of them share the queue group; bad settings fail clearly."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from nats.aio.client import Client

from chatops.subjects import SERVICE_NAME
from chatops.v1 import audit_pb2
from tests.harness.petstore import EnvProc
from tests.harness.servers import LOOPBACK, NatsServer, env_with, free_port, wait_http
from tests.ops.conftest import UNUSED_URL, ask, error_of

ROOT = Path(__file__).resolve().parents[2]


def _ops_process(workdir: Path, bus: dict[str, str], n: int) -> tuple[EnvProc, str]:
    metrics = f"{LOOPBACK}:{free_port()}"
    proc = EnvProc([sys.executable, "-m", "ops"], workdir, f"ops-{n}")
    proc.env = env_with(
        **bus,
        PETSTORE_ADDR=f"{LOOPBACK}:{free_port()}",
        PROMETHEUS_URL=UNUSED_URL,
        ALERTMANAGER_URL=UNUSED_URL,
        JAEGER_URL="",
        TRACE_STORE_PATH=str(workdir / "traces.db"),
        OTLP_LISTEN=f"{LOOPBACK}:{free_port()}",
        OPS_METRICS_LISTEN=metrics,
        LOG_LEVEL="INFO",
        PYTHONPATH=str(ROOT),
    )
    return proc, metrics


async def test_two_ops_processes_share_the_load(
    tmp_path: Path, nats_server: NatsServer, nc: Client, tools: Client
) -> None:
    procs = []
    try:
        for n in range(2):
            proc, metrics = _ops_process(tmp_path / f"ops{n}", nats_server.env("ops"), n)
            proc.start()
            procs.append(proc)
            await asyncio.to_thread(wait_http, f"http://{metrics}/healthz", 60.0, proc.proc)

        async def instances() -> list[dict[str, object]]:
            inbox = tools.new_inbox()  # discovery is the read-only tools' right
            sub = await tools.subscribe(inbox)
            await tools.publish(f"$SRV.STATS.{SERVICE_NAME}", b"", reply=inbox)
            found = []
            deadline = time.monotonic() + 3
            while time.monotonic() < deadline:
                try:
                    msg = await sub.next_msg(timeout=0.5)
                except TimeoutError:
                    continue
                found.append(json.loads(msg.data))
            await sub.unsubscribe()
            return found

        for _ in range(30):  # both register within seconds; allow a slow, shared machine
            if len(await instances()) >= 2:
                break
            await asyncio.sleep(0.5)

        for _ in range(40):
            msg = await ask(nc, "audit.list", audit_pb2.ListAuditRequest(limit=1))
            assert error_of(msg) == (0, "")
        stats = await instances()
        assert len(stats) == 2
        served = []
        for s in stats:
            endpoints = s["endpoints"]
            assert isinstance(endpoints, list)
            served.append(
                sum(e["num_requests"] for e in endpoints if e["subject"] == "chatops.cmd.audit.list")
            )
        assert sum(served) == 40 and all(n > 0 for n in served), served
        # Both wrote to the one audit log.
        admin = await nats_server.connect("provisioner")
        try:
            assert (await admin.jetstream().stream_info("CHATOPS_AUDIT")).state.messages == 40
        finally:
            await admin.close()
    finally:
        for proc in procs:
            proc.stop()
    for proc in procs:
        assert proc.proc is not None and proc.proc.returncode == 0, proc.log_tail()


def test_bad_setting_is_named(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "chatops", "ops"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env=env_with(OPS_BACKEND_TIMEOUT="soon", PYTHONPATH=str(ROOT)),
    )
    assert result.returncode == 2
    assert "OPS_BACKEND_TIMEOUT" in result.stderr and "Traceback" not in result.stderr


def test_sigterm_while_nats_is_unreachable_stops_cleanly(tmp_path: Path) -> None:
    proc, metrics = _ops_process(tmp_path / "ops", {"NATS_URL": f"nats://{LOOPBACK}:{free_port()}"}, 0)
    proc.start()
    try:
        deadline = time.monotonic() + 60
        while "ops.connecting" not in proc.log_tail() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert "ops.connecting" in proc.log_tail()
        # Not healthy while it cannot serve.
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(f"http://{metrics}/healthz", timeout=10)
        assert err.value.code == 503 and b"waiting for NATS" in err.value.read()
        assert proc.proc is not None
        proc.proc.terminate()
        assert proc.proc.wait(timeout=30) == 0, proc.log_tail()
        assert "Traceback" not in proc.log_tail()
    finally:
        proc.stop()
