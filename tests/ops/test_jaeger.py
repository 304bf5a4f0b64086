"""The Jaeger api_v3 client against Jaeger's own answers and its OpenAPI spec, served on loopback."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import aiohttp
import pytest
import yaml
from aiohttp import web
from nats.aio.client import Client

from chatops.v1 import traces_pb2
from ops.backends.http import HttpBackend
from ops.backends.jaeger import JaegerTraces, search_params
from ops.errors import OpsError
from ops.spans import TraceQuery
from tests.conftest import FIXTURES
from tests.ops.conftest import StartOps, ask, error_of, reply_of
from tools.harness.ports import LOOPBACK, free_port

JAEGER = FIXTURES / "jaeger"
SPEC = yaml.safe_load((JAEGER / "api_v3-query_service.openapi.yaml").read_text())
KNOWN_ID = "00000000000000000000000000000001"
# Older Jaeger servers read the trace count from query.num_traces (see the fixtures' README).
LEGACY_PARAMS = {"query.num_traces"}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


def spec_params(path: str) -> dict[str, dict[str, Any]]:
    """GET parameters of a path, plus the TraceQueryParameters fields (attributes is one of them)."""
    params = {p["name"]: p for p in SPEC["paths"][path]["get"].get("parameters", [])}
    if path == "/api/v3/traces":
        fields = SPEC["components"]["schemas"]["jaeger.api_v3.TraceQueryParameters"]["properties"]
        for name, schema in fields.items():
            params.setdefault(f"query.{name}", {"name": f"query.{name}", "schema": schema})
    return params


def check_against_spec(path: str, query: dict[str, str]) -> list[str]:
    """Problems with a request's query string, judged by the OpenAPI spec."""
    problems = []
    allowed = spec_params(path)
    for name, value in query.items():
        if name in LEGACY_PARAMS:
            continue
        prefix, _, field_name = name.rpartition(".")
        spec_name = f"{prefix}.{_camel(field_name)}" if prefix else _camel(field_name)
        param = allowed.get(spec_name)
        if param is None:
            problems.append(f"{name} is not in the spec")
            continue
        schema = param.get("schema", {})
        if schema.get("format") == "date-time":
            try:
                datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                problems.append(f"{name}={value} is not RFC 3339")
        if "pattern" in schema and not re.match(schema["pattern"], value):
            problems.append(f"{name}={value} does not match {schema['pattern']}")
        if schema.get("type") == "integer" and not value.isdigit():
            problems.append(f"{name}={value} is not an integer")
        if spec_name == "query.attributes":
            parsed = json.loads(value)
            if not isinstance(parsed, dict) or not all(isinstance(v, str) for v in parsed.values()):
                problems.append(f"{name} must be a JSON string map")
    if path == "/api/v3/traces":
        for required in ("query.start_time_min", "query.start_time_max"):
            if required not in query:
                problems.append(f"{required} is required")
    return problems


@dataclass
class FakeJaeger:
    """Serves the recorded api_v3 answers; records each request and what the spec thinks of it."""

    port: int
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    traceparents: list[str] = field(default_factory=list)
    mode: str = "ok"  # ok | broken | hang
    # A hanging answer waits for this, set when the test is over: past any client's timeout.
    hung_up: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def app(self) -> web.Application:
        async def traces(request: web.Request) -> web.Response:
            return await self.answer("/api/v3/traces", request, "apiv3-FindTraces.json")

        async def trace(request: web.Request) -> web.Response:
            if request.match_info["trace_id"] != KNOWN_ID:
                return web.json_response(
                    {"error": {"httpCode": 404, "message": "trace not found"}}, status=404
                )
            return await self.answer("/api/v3/traces/{traceId}", request, "apiv3-GetTrace.json")

        app = web.Application()
        app.router.add_get("/api/v3/traces", traces)
        app.router.add_get("/api/v3/traces/{trace_id}", trace)
        return app

    async def answer(self, path: str, request: web.Request, fixture: str) -> web.Response:
        query = dict(request.query)
        self.requests.append((request.path, query))
        self.traceparents.append(request.headers.get("traceparent", ""))
        self.problems.extend(check_against_spec(path, query))
        if self.mode == "hang":
            await self.hung_up.wait()
        if self.mode == "broken":
            return web.Response(status=500, text="storage backend unavailable")
        return web.Response(body=(JAEGER / fixture).read_bytes(), content_type="application/json")


@pytest.fixture
async def jaeger() -> AsyncIterator[FakeJaeger]:
    fake = FakeJaeger(free_port())
    runner = web.AppRunner(fake.app())
    await runner.setup()
    await web.TCPSite(runner, LOOPBACK, fake.port).start()
    try:
        yield fake
    finally:
        fake.hung_up.set()
        await runner.cleanup()


def test_search_params_fit_the_spec() -> None:
    query = TraceQuery(
        service="petstore",
        start_ns=1_700_000_000_123_456_789,
        end_ns=1_700_003_600 * 10**9,
        limit=7,
        operation="/petstore.v1.PetStore/AddPets",
        attributes=(("http.status_code", "500"),),
        errors_only=True,
        min_duration_ns=1_500_000_000,
        max_duration_ns=10**10,
    )
    params = search_params(query)
    assert check_against_spec("/api/v3/traces", params) == []
    assert params["query.start_time_min"] == "2023-11-14T22:13:20.123456789Z"
    assert params["query.duration_min"] == "1.500000000s" and params["query.duration_max"] == "10s"
    assert json.loads(params["query.attributes"]) == {"error": "true", "http.status_code": "500"}
    assert params["query.search_depth"] == "7"
    # The checker itself catches what the spec forbids.
    assert check_against_spec("/api/v3/traces", {"query.bogus": "1"}) != []
    assert (
        check_against_spec(
            "/api/v3/traces",
            {"query.start_time_min": "yesterday", "query.start_time_max": "2024-01-01T00:00:00Z"},
        )
        != []
    )


async def test_client_reads_jaegers_own_answers(jaeger: FakeJaeger) -> None:
    async with aiohttp.ClientSession() as session:
        client = JaegerTraces(HttpBackend("Jaeger", jaeger.url, session, 5), "http://127.0.0.1:16686")
        found = await client.find(
            TraceQuery(service="frontend", start_ns=1, end_ns=2 * 10**18, limit=5, errors_only=True)
        )
        assert [t.trace_id for t in found] == [KNOWN_ID]
        span = found[0].spans[0]
        assert (span.name, span.span_id, span.is_error) == ("foobar", "0000000000000002", True)
        got = await client.get(KNOWN_ID)
        assert got is not None and got.root.name == "foobar"
        assert await client.get("0" * 31 + "2") is None  # Jaeger's 404 error shape
        assert client.url(KNOWN_ID) == f"http://127.0.0.1:16686/trace/{KNOWN_ID}"
    assert jaeger.problems == []
    assert [p for p, _ in jaeger.requests] == ["/api/v3/traces", f"/api/v3/traces/{KNOWN_ID}"]


async def test_client_errors_name_jaeger(jaeger: FakeJaeger) -> None:
    async with aiohttp.ClientSession() as session:
        client = JaegerTraces(HttpBackend("Jaeger", jaeger.url, session, 1.0), "http://ui")
        jaeger.mode = "broken"
        with pytest.raises(OpsError) as err:
            await client.get(KNOWN_ID)
        assert err.value.code == 502 and "Jaeger" in err.value.text and "HTTP 500" in err.value.text
        jaeger.mode = "hang"
        with pytest.raises(OpsError) as err:
            await client.get(KNOWN_ID)
        assert err.value.code == 504 and err.value.text == "Jaeger did not answer within 1s"


async def test_ops_with_jaeger_url_uses_jaeger(jaeger: FakeJaeger, start_ops: StartOps, nc: Client) -> None:
    await start_ops(JAEGER_URL=jaeger.url, TRACE_UI_URL="http://jaeger.example:16686")
    listing = reply_of(
        await ask(
            nc,
            "traces.list",
            traces_pb2.ListTracesRequest(service="frontend", limit=3, tags=["http.status_code=500"]),
        ),
        "traces.list",
    )
    assert [t.trace_id for t in listing.traces] == [KNOWN_ID]
    assert listing.traces[0].url == f"http://jaeger.example:16686/trace/{KNOWN_ID}"
    shown = reply_of(
        await ask(nc, "traces.show", traces_pb2.ShowTraceRequest(trace_id=KNOWN_ID[16:])), "traces.show"
    )
    assert list(shown.operations) == ["foobar"] and shown.span_count == 1
    code, _ = error_of(await ask(nc, "traces.logs", traces_pb2.ShowLogsRequest(trace_id="ab" * 16)))
    assert code == 404
    sent = dict(jaeger.requests[0][1])
    assert sent["query.service_name"] == "frontend" and json.loads(sent["query.attributes"]) == {
        "http.status_code": "500"
    }
    assert jaeger.problems == []
    # The command's span continues the caller's trace into the HTTP call.
    caller_trace = "7" * 32
    headers = {"Chatops-Actor": "slack:U1", "traceparent": f"00-{caller_trace}-{'8' * 16}-01"}
    await ask(nc, "traces.show", traces_pb2.ShowTraceRequest(trace_id=KNOWN_ID), headers=headers)
    sent_parent = jaeger.traceparents[-1].split("-")
    assert sent_parent[1] == caller_trace and sent_parent[2] != "8" * 16
