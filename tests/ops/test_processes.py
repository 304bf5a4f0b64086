"""`python -m ops` as real processes: two of them share the queue group; bad settings fail clearly."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from nats.aio.client import Client
from nats.errors import TimeoutError as NatsTimeoutError
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from chatops.subjects import SERVICE_NAME
from chatops.v1 import audit_pb2, traces_pb2
from tests.ops.conftest import ask, error_of, reply_of
from tools.harness import components
from tools.harness.ports import free_port
from tools.harness.procs import python_m
from tools.harness.servers import NatsServer
from tools.harness.wait import eventually, eventually_sync


async def stats(tools: Client, want: int) -> list[dict[str, object]]:
    """What `$SRV.STATS` brings back: one reply per ops instance, up to `want` of them (or 2 s)."""
    inbox = tools.new_inbox()  # discovery is the read-only tools' right
    sub = await tools.subscribe(inbox)
    await tools.publish(f"$SRV.STATS.{SERVICE_NAME}", b"", reply=inbox)
    found: list[dict[str, object]] = []
    try:
        while len(found) < want:
            found.append(json.loads((await sub.next_msg(timeout=2)).data))
    except NatsTimeoutError:
        pass
    finally:
        await sub.unsubscribe()
    return found


async def test_two_ops_processes_share_the_load(
    tmp_path: Path, nats_server: NatsServer, nc: Client, tools: Client
) -> None:
    procs = [components.ops(tmp_path / f"ops{n}", nats_server, name=f"ops-{n}") for n in range(2)]
    try:
        for proc in procs:
            await asyncio.to_thread(proc.start)

        async def both_answer() -> list[dict[str, object]] | None:
            found = await stats(tools, 2)
            return found if len(found) == 2 else None

        await eventually(both_answer, what="both instances answering discovery")

        for _ in range(40):
            msg = await ask(nc, "audit.list", audit_pb2.ListAuditRequest(limit=1))
            assert error_of(msg) == (0, "")
        both = await stats(tools, 2)
        assert len(both) == 2
        served = []
        for s in both:
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
        assert proc.proc.popen is not None and proc.proc.popen.returncode == 0, proc.log_tail()


def _export_trace(endpoint: str, name: str) -> str:
    """One petstore trace sent with the real SDK exporter to `endpoint`; its id."""
    provider = TracerProvider(resource=Resource.create({"service.name": "petstore"}))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=endpoint, timeout=10)))
    with provider.get_tracer("test").start_as_current_span(name) as span:
        trace_id = format(span.get_span_context().trace_id, "032x")
    provider.shutdown()
    return trace_id


async def test_two_ops_processes_share_one_trace_store_and_one_otlp_port(
    tmp_path: Path, nats_server: NatsServer, nc: Client, tools: Client
) -> None:
    shared = {
        "TRACE_STORE_PATH": str(tmp_path / "traces.sqlite3"),
        "OTLP_LISTEN": f"127.0.0.1:{free_port()}",
        "OTLP_REUSE_PORT": "true",
    }
    procs = [components.ops(tmp_path / f"ops{n}", nats_server, name=f"ops-{n}", **shared) for n in range(2)]
    endpoint = f"http://{shared['OTLP_LISTEN']}/v1/traces"
    names: dict[str, str] = {}

    async def export(name: str) -> None:
        names[await asyncio.to_thread(_export_trace, endpoint, name)] = name

    async def both_up() -> None:
        await eventually(lambda: _shows_served(tools, 2), what="both replicas answering discovery")

    async def every_replica_finds_every_trace() -> None:
        before = await _shows_served(tools, 2)
        assert before is not None
        for trace_id in list(names) * (24 // len(names) + 1):
            reply = reply_of(
                await ask(nc, "traces.show", traces_pb2.ShowTraceRequest(trace_id=trace_id)), "traces.show"
            )
            assert list(reply.operations) == [names[trace_id]]
        after = await _shows_served(tools, 2)
        assert after is not None and after.keys() == before.keys(), (before, after)
        assert all(after[replica] > before[replica] for replica in before), (before, after)

    try:
        for proc in procs:
            await asyncio.to_thread(proc.start)
        await both_up()
        await export("first")
        await every_replica_finds_every_trace()
        procs[0].kill()  # the other takes the spans on the same port, into the same store
        await export("second")
        reply = reply_of(await ask(nc, "traces.list", traces_pb2.ListTracesRequest()), "traces.list")
        assert {t.trace_id for t in reply.traces} >= set(names)
        await asyncio.to_thread(procs[0].start)
        await both_up()
        await export("third")
        await every_replica_finds_every_trace()
    finally:
        for proc in procs:
            proc.stop()


async def _shows_served(tools: Client, replicas: int) -> dict[str, int] | None:
    """traces.show requests each replica (by its service id) has served, when `replicas` of them answer.

    Keyed, not listed: discovery replies come in whichever order the replicas answer.
    """
    found = await stats(tools, replicas)
    if len(found) < replicas:
        return None
    counts = {}
    for s in found:
        endpoints = s["endpoints"]
        assert isinstance(endpoints, list)
        counts[str(s["id"])] = sum(
            e["num_requests"] for e in endpoints if e["subject"] == "chatops.cmd.traces.show"
        )
    return counts


def test_bad_setting_is_named(tmp_path: Path) -> None:
    result = python_m("chatops", "ops", cwd=tmp_path, OPS_BACKEND_TIMEOUT="soon")
    assert result.returncode == 2
    assert "OPS_BACKEND_TIMEOUT" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("module", ["ops", "deployer"])
def test_python_m_names_a_bad_admins_entry_in_one_line(tmp_path: Path, module: str) -> None:
    result = python_m(module, cwd=tmp_path, CHATOPS_ADMINS="U0BOSS,root")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"chatops {module}: configuration error: CHATOPS_ADMINS: 'root' is neither an actor like "
        "slack:U024BE7LH or console:alice nor a Slack user id like U024BE7LH"
    )


def test_sigterm_while_nats_is_unreachable_stops_cleanly(tmp_path: Path) -> None:
    proc = components.ops(tmp_path / "ops", NatsServer(tmp_path / "nats"))  # never started
    proc.start(wait=False)
    try:
        eventually_sync(lambda: "ops.connecting" in proc.log_tail(), timeout=60, what="ops connecting")
        # Not healthy while it cannot serve.
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(f"{proc.url}/healthz", timeout=10)
        assert err.value.code == 503 and b"waiting for NATS" in err.value.read()
        popen = proc.proc.popen
        assert popen is not None
        popen.terminate()
        assert popen.wait(timeout=30) == 0, proc.log_tail()
        assert "Traceback" not in proc.log_tail()
    finally:
        proc.stop()
