"""The local trace store: OTLP/HTTP in (protobuf from the real SDK exporter, and JSON), queries out."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from nats.aio.client import Client
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import Status, StatusCode

from chatops.v1 import traces_pb2
from ops.errors import OpsError
from ops.spans import Span, SpanEvent, TraceQuery
from ops.tracestore.store import LocalTraces, SpanStore
from ops.tracing import StoreSink
from tests.conftest import FIXTURES
from tests.ops.conftest import OpsUnderTest, StartOps, ask, error_of, reply_of

S = 10**9


def _span(trace: str, span: str, start_s: float, dur_s: float, **kw: Any) -> Span:
    start = int(start_s * S)
    return Span(
        trace_id=trace,
        span_id=span,
        parent_span_id=str(kw.pop("parent", "")),
        service=str(kw.pop("service", "petstore")),
        name=str(kw.pop("name", "op")),
        start_ns=start,
        end_ns=start + int(dur_s * S),
        **kw,
    )


def test_store_search_filters_and_orders(tmp_path: Path) -> None:
    now = time.time()
    store = SpanStore(tmp_path / "t.db", max_spans=1000, max_age=3600)
    a, b, c = "a" * 32, "b" * 32, "c" * 32
    store.add(
        [
            _span(a, "1" * 16, now - 30, 0.5, name="/AddPets", attributes=(("rpc.method", "AddPets"),)),
            _span(
                a, "2" * 16, now - 29.9, 0.1, parent="1" * 16, name="db", status_code=2, status_message="boom"
            ),
            _span(b, "3" * 16, now - 20, 2.0, name="/SearchPets"),
            _span(c, "4" * 16, now - 10, 0.2, name="/GetSampler", service="other"),
        ]
    )
    q = TraceQuery(service="petstore", start_ns=int((now - 60) * S), end_ns=int(now * S))
    assert [t.trace_id for t in store.search(q)] == [b, a]  # newest first; c is another service
    errors = TraceQuery(service="petstore", start_ns=q.start_ns, end_ns=q.end_ns, errors_only=True)
    assert [t.trace_id for t in store.search(errors)] == [a]
    tagged = TraceQuery(
        service="petstore", start_ns=q.start_ns, end_ns=q.end_ns, attributes=(("rpc.method", "AddPets"),)
    )
    assert [t.trace_id for t in store.search(tagged)] == [a]
    slow = TraceQuery(service="petstore", start_ns=q.start_ns, end_ns=q.end_ns, min_duration_ns=S)
    assert [t.trace_id for t in store.search(slow)] == [b]
    op = TraceQuery(service="", start_ns=q.start_ns, end_ns=q.end_ns, operation="/GetSampler", limit=1)
    assert [t.trace_id for t in store.search(op)] == [c]
    trace = store.get(a)
    assert trace is not None and trace.root.name == "/AddPets" and trace.has_errors
    store.close()


def test_store_enforces_size_and_age_limits(tmp_path: Path) -> None:
    now = time.time()
    store = SpanStore(tmp_path / "t.db", max_spans=100, max_age=600)
    store.add([_span(f"{i:032x}", f"{i:016x}", now - 1000 + i, 0.01) for i in range(1, 51)])
    assert store.count() == 0  # all older than 10 minutes
    store.add([_span(f"{i:032x}", f"{i:016x}", now - 300 + i, 0.01) for i in range(1, 151)])
    assert store.count() == 100
    assert store.get(f"{1:032x}") is None and store.get(f"{150:032x}") is not None  # oldest went first
    store.close()


def test_stores_sharing_one_file_write_at_once_and_keep_one_limit(tmp_path: Path) -> None:
    """Two ops replicas on one host, each with its own connection to the one file (as two processes)."""
    now = time.time()
    stores = [SpanStore(tmp_path / "shared.db", max_spans=300, max_age=600) for _ in range(2)]

    def write(n: int) -> None:
        for batch in range(20):
            stores[n].add(
                [
                    _span(f"{n:08x}{batch:08x}{i:016x}", f"{i + 1:016x}", now - 300 + batch, 0.01)
                    for i in range(20)
                ]
            )

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(write, range(2)))  # 800 spans from two writers, none refused as "locked"
    assert stores[0].count() == stores[1].count() == 300  # the limit holds for the file, not per writer
    # Each sees what the other wrote: the newest batch of both writers is there.
    assert stores[0].get(f"{1:08x}{19:08x}{0:016x}") is not None
    assert stores[1].get(f"{0:08x}{19:08x}{0:016x}") is not None
    third = SpanStore(tmp_path / "shared.db", max_spans=300, max_age=600)  # a replica restarted later
    third.add([_span("f" * 32, "1" * 16, now, 0.01)])
    assert third.count() == stores[0].count() == 300
    for store in [*stores, third]:
        store.close()


def test_store_enforces_a_byte_limit_however_few_the_spans(tmp_path: Path) -> None:
    now = time.time()
    store = SpanStore(tmp_path / "t.db", max_spans=100_000, max_bytes=2 << 20, max_age=600)
    big = {"blob": "x" * 20_000}
    for batch in range(10):  # 400 spans of ~20 KB: 8 MB into a 2 MB store
        store.add(
            [
                _span(
                    f"{batch:016x}{i:016x}",
                    f"{i + 1:016x}",
                    now - 300 + batch + i / 100,
                    0.01,
                    attributes=big,
                )
                for i in range(40)
            ]
        )
        assert store.used_bytes() <= 2 << 20
    assert 0 < store.count() < 400
    assert store.get(f"{9:016x}{39:016x}") is not None  # the newest stays
    assert store.get(f"{0:016x}{0:016x}") is None  # the oldest went
    store.close()


def test_query_validation() -> None:
    with pytest.raises(OpsError) as err:
        TraceQuery(service="", start_ns=0, end_ns=1, limit=101)
    assert err.value.code == 400 and "1 to 100" in err.value.text
    with pytest.raises(OpsError):
        TraceQuery(service="", start_ns=5, end_ns=5)


async def test_sdk_exporter_protobuf_and_fixture_json_reach_traces_commands(
    start_ops: StartOps, nc: Client
) -> None:
    # The JSON fixture is from 2024: keep spans for ten years so the age limit does not drop it.
    ops: OpsUnderTest = await start_ops(TRACE_STORE_MAX_AGE=10 * 365 * 86400.0)
    endpoint = f"http://{ops.settings.OTLP_LISTEN}/v1/traces"
    provider = TracerProvider(resource=Resource.create({"service.name": "petstore"}))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=endpoint, timeout=10)))
    tracer = provider.get_tracer("test")

    def emit() -> str:
        with tracer.start_as_current_span("/petstore.v1.PetStore/AddPets") as root:
            root.set_attribute("rpc.method", "AddPets")
            with tracer.start_as_current_span("store.add") as child:
                child.add_event("validating pets", {"count": 2})
                child.add_event("pet stored", {"id": "p-1"})
                child.set_status(Status(StatusCode.ERROR, "disk full"))
        return format(root.get_span_context().trace_id, "032x")

    trace_id = await asyncio.to_thread(emit)
    provider.shutdown()

    listing = reply_of(
        await ask(nc, "traces.list", traces_pb2.ListTracesRequest(tags=["error"])),
        "traces.list",
    )
    assert [t.trace_id for t in listing.traces] == [trace_id]
    summary = listing.traces[0]
    assert summary.root_operation == "/petstore.v1.PetStore/AddPets"
    assert summary.span_count == 2 and summary.has_errors and summary.service == "petstore"
    assert summary.url == f"http://{ops.settings.OTLP_LISTEN}/trace/{trace_id}"

    shown = reply_of(
        await ask(nc, "traces.show", traces_pb2.ShowTraceRequest(trace_id=trace_id), as_json=True),
        "traces.show",
        as_json=True,
    )
    assert list(shown.operations) == ["/petstore.v1.PetStore/AddPets", "store.add"]
    assert list(shown.errors) == ["disk full"]
    assert "rpc.method" in shown.attribute_keys
    assert shown.longest_operation == "/petstore.v1.PetStore/AddPets"

    logs = reply_of(
        await ask(nc, "traces.logs", traces_pb2.ShowLogsRequest(trace_id=trace_id)), "traces.logs"
    )
    assert [e.message for e in logs.logs] == ["validating pets", "pet stored"]
    assert logs.logs[0].attributes["count"] == "2" and logs.logs[0].operation == "store.add"

    # The OTLP JSON fixture (hex ids, a duplicated span) goes in through the JSON encoding.
    body = (FIXTURES / "jaeger" / "otlp-traces-in.json").read_bytes()
    req = urllib.request.Request(endpoint, data=body, headers={"Content-Type": "application/json"})
    assert await asyncio.to_thread(lambda: urllib.request.urlopen(req, timeout=10).status) == 200
    fixture_id = "83a9efd15c1c98a977e0711cc93ee28b"
    assert ops.running.store is not None
    stored = ops.running.store.get(fixture_id)
    assert stored is not None and len(stored.spans) == 1 and stored.spans[0].service == "telemetrygen"
    # A 16-digit id is the low half of a 32-digit one.
    code, _ = error_of(await ask(nc, "traces.show", traces_pb2.ShowTraceRequest(trace_id=fixture_id[16:])))
    assert code == 404
    code, text = error_of(await ask(nc, "traces.show", traces_pb2.ShowTraceRequest(trace_id="f" * 32)))
    assert code == 404 and "no trace" in text

    page_url = f"http://{ops.settings.OTLP_LISTEN}/trace/{trace_id}"
    page = (await asyncio.to_thread(lambda: urllib.request.urlopen(page_url, timeout=10).read())).decode()
    assert "store.add" in page and "disk full" in page and "pet stored" in page


async def test_receiver_refuses_bad_bodies(ops: OpsUnderTest) -> None:
    endpoint = f"http://{ops.settings.OTLP_LISTEN}/v1/traces"

    def post(body: bytes, kind: str) -> tuple[int, str]:
        req = urllib.request.Request(endpoint, data=body, headers={"Content-Type": kind})
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    assert (await asyncio.to_thread(post, b"{nope", "application/json"))[0] == 400
    assert (await asyncio.to_thread(post, b"\xff\xff", "application/x-protobuf"))[0] == 400
    assert (await asyncio.to_thread(post, b"x", "text/plain"))[0] == 415
    status, _ = await asyncio.to_thread(post, json.dumps({"resourceSpans": []}).encode(), "application/json")
    assert status == 200


async def test_the_store_works_on_one_thread_of_its_own(tmp_path: Path) -> None:
    """Writes, searches, reads and probes at once all run on the store's one thread (none on asyncio's
    default pool, where each of up to cores + 4 threads would hold SQLite's memory in an arena of its
    own), and that thread ends with the store."""
    before = set(threading.enumerate())
    store = SpanStore(tmp_path / "t.db")
    traces, sink = LocalTraces(store), StoreSink(store)
    now = time.time()
    spans = [_span(f"{i:032x}", "1" * 16, now - i, 0.1) for i in range(1, 161)]
    window = TraceQuery(service="petstore", start_ns=int((now - 3600) * S), end_ns=int(now * S), limit=20)
    await asyncio.gather(
        *(sink.write(spans[i::8]) for i in range(8)),
        *(traces.find(window) for _ in range(16)),
        *(traces.get(f"{i:032x}") for i in range(1, 9)),
        traces.check(),
    )
    assert len(await traces.find(window)) == 20
    new = set(threading.enumerate()) - before
    assert [t.name for t in new] == ["trace-store_0"]
    store.close()
    assert not any(t.is_alive() for t in new)
    with pytest.raises(OpsError, match="cannot be read"):
        await traces.check()


def test_span_events_survive_storage(tmp_path: Path) -> None:
    store = SpanStore(tmp_path / "t.db")
    ev = SpanEvent(123, "hello", (("k", "v"),))
    store.add([_span("d" * 32, "5" * 16, time.time(), 0.1, events=(ev,))])
    got = store.get("d" * 32)
    assert got is not None and got.spans[0].events == (ev,)
    store.close()
