"""Bounds in ops over a real nats-server: "busy" per command, and replies trimmed to fit the bus."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest
from nats.aio.client import Client

from chatops import codec
from chatops.v1 import audit_pb2, traces_pb2, version_pb2
from ops.spans import Span, SpanEvent
from tests.ops.conftest import OpsUnderTest, StartOps, ask, error_of, reply_of
from tools.harness.servers import Silent, running
from tools.harness.wait import eventually


@pytest.fixture
def silent() -> Iterator[Silent]:
    with running(Silent()) as backend:
        yield backend


async def test_too_many_of_one_command_are_busy_and_the_others_still_run(
    start_ops: StartOps, nc: Client, silent: Silent
) -> None:
    # The backend timeout is far longer than the test: the two stuck commands end when it hangs up.
    ops: OpsUnderTest = await start_ops(
        OPS_MAX_IN_FLIGHT=2, PROMETHEUS_URL=silent.url, OPS_BACKEND_TIMEOUT=120.0
    )
    stuck = [asyncio.ensure_future(ask(nc, "version.get", version_pb2.GetVersionRequest())) for _ in range(2)]
    await eventually(
        lambda: ops.running.endpoints.in_flight("version.get") == 2, what="two version.get in flight"
    )
    third = await ask(nc, "version.get", version_pb2.GetVersionRequest())
    code, text = error_of(third)
    assert code == 503
    assert text == "2 version.get commands are running already; try again in a moment"
    # Another command is not held up by the busy one.
    assert error_of(await ask(nc, "audit.list", audit_pb2.ListAuditRequest()))[0] == 0
    silent.stop()  # hangs up on both
    assert [error_of(m)[0] for m in await asyncio.gather(*stuck)] == [502, 502]
    # Once those finished, version.get runs again (and finds Prometheus gone).
    assert error_of(await ask(nc, "version.get", version_pb2.GetVersionRequest()))[0] == 502


def _big_trace(trace_id: str, events: int, size: int) -> list[Span]:
    now = time.time_ns()
    return [
        Span(
            trace_id=trace_id,
            span_id=f"{i + 1:016x}",
            parent_span_id="",
            service="petstore",
            name=f"op{i}",
            start_ns=now + i,
            end_ns=now + i + 1000,
            events=(SpanEvent(now + i, f"line {i} " + "x" * size, (("n", str(i)),)),),
        )
        for i in range(events)
    ]


@pytest.mark.parametrize("as_json", [False, True])
async def test_a_reply_over_the_bus_limit_is_trimmed_with_how_many_more(
    ops: OpsUnderTest, nc: Client, as_json: bool
) -> None:
    trace_id = "ab" * 16
    assert ops.running.store is not None
    # 3,000 log lines of 1 KB: three times what one NATS message may carry.
    ops.running.store.add(_big_trace(trace_id, 3000, 1000))
    msg = await ask(nc, "traces.logs", traces_pb2.ShowLogsRequest(trace_id=trace_id), as_json=as_json)
    assert len(msg.data) <= nc.max_payload
    reply = reply_of(msg, "traces.logs", as_json=as_json)
    assert 0 < len(reply.logs) < 3000 and reply.omitted == 3000 - len(reply.logs)
    assert [e.message.split()[1] for e in reply.logs[:3]] == ["0", "1", "2"]  # the first lines are kept
    assert codec.decode(msg.data, traces_pb2.ShowLogsReply, as_json=as_json).omitted == reply.omitted
