"""The trace store probe: 1 while the local store or Jaeger answers, 0 (and one log line) when not."""

from __future__ import annotations

from pathlib import Path

import aiohttp
from aiohttp import web
from prometheus_client import CollectorRegistry, Gauge

from ops.backends import jaeger
from ops.backends.http import HttpBackend
from ops.probe import TraceStoreProbe
from ops.tracestore.store import LocalTraces, SpanStore
from tools.harness.ports import LOOPBACK, free_port


def gauge() -> Gauge:
    return Gauge("chatops_ops_trace_store_up", "test", ["backend"], registry=CollectorRegistry())


def value(g: Gauge, backend: str) -> float:
    [sample] = [s for m in g.collect() for s in m.samples if s.labels == {"backend": backend}]
    return sample.value


async def test_the_local_store_is_up_until_it_cannot_be_read(tmp_path: Path) -> None:
    up = gauge()
    store = SpanStore(tmp_path / "traces.sqlite3")
    probe = TraceStoreProbe(LocalTraces(store), up.labels("local"), every=1.0)
    assert await probe.probe() is True and value(up, "local") == 1
    store.close()
    assert await probe.probe() is False and value(up, "local") == 0


async def test_a_jaeger_that_does_not_answer_is_down(tmp_path: Path) -> None:
    up = gauge()
    async with aiohttp.ClientSession() as session:
        http = HttpBackend(jaeger.NAME, f"http://127.0.0.1:{free_port()}", session, timeout=2.0)
        probe = TraceStoreProbe(
            jaeger.JaegerTraces(http, "http://jaeger.invalid"), up.labels("jaeger"), every=5.0
        )
        assert await probe.probe() is False
    assert value(up, "jaeger") == 0


async def test_jaeger_is_up_while_it_lists_its_services() -> None:
    answer = {"status": 200}

    async def services(_: web.Request) -> web.Response:
        if answer["status"] != 200:
            return web.Response(status=answer["status"], text="storage unavailable")
        return web.json_response({"services": ["petstore"]})

    app = web.Application()
    app.router.add_get("/api/v3/services", services)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, LOOPBACK, port).start()
    up = gauge()
    try:
        async with aiohttp.ClientSession() as session:
            http = HttpBackend(jaeger.NAME, f"http://{LOOPBACK}:{port}", session, timeout=2.0)
            probe = TraceStoreProbe(jaeger.JaegerTraces(http, "http://ui"), up.labels("jaeger"), every=5.0)
            assert await probe.probe() is True and value(up, "jaeger") == 1
            answer["status"] = 503
            assert await probe.probe() is False and value(up, "jaeger") == 0
    finally:
        await runner.cleanup()
