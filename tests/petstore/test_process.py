"""The petstore as a process (`python -m petstore serve`): OTLP export, /metrics, SIGTERM."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import urllib.parse
import urllib.request
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import grpc
import pytest
from aiohttp import web
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from petstore.client import PetstoreClient
from petstore.model import Pet, PetKind
from petstore.sampler import SamplerSpec
from petstore.v1 import petstore_pb2 as pb
from petstore.v1 import petstore_pb2_grpc as pb_grpc
from tools.harness.petstore import Petstore
from tools.harness.ports import free_port
from tools.harness.procs import python_m
from tools.harness.servers import Prometheus
from tools.harness.wait import eventually


@dataclass
class Receiver:
    """A small OTLP/HTTP trace receiver that keeps every decoded export request."""

    url: str
    requests: list[ExportTraceServiceRequest] = field(default_factory=list)

    def spans(self) -> list[tuple[str, str, object]]:
        """(service.name, span name, span) for every span received."""
        out: list[tuple[str, str, object]] = []
        for req in self.requests:
            for rs in req.resource_spans:
                service = next(
                    (a.value.string_value for a in rs.resource.attributes if a.key == "service.name"), ""
                )
                for ss in rs.scope_spans:
                    out.extend((service, s.name, s) for s in ss.spans)
        return out


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    port = free_port()
    rec = Receiver(f"http://127.0.0.1:{port}")

    async def traces(request: web.Request) -> web.Response:
        msg = ExportTraceServiceRequest()
        msg.ParseFromString(await request.read())
        rec.requests.append(msg)
        return web.Response(
            body=ExportTraceServiceResponse().SerializeToString(), content_type="application/x-protobuf"
        )

    app = web.Application()
    app.router.add_post("/v1/traces", traces)
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", port).start()
        yield rec
    finally:
        await runner.cleanup()


def _metrics(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return str(resp.read().decode())


def _value(text: str, series: str) -> float:
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.split()[-1])
    return 0.0


async def test_spans_leave_the_process_over_otlp_http(tmp_path: Path, receiver: Receiver) -> None:
    server = Petstore(tmp_path / "ps", sampler="never", otlp_endpoint=receiver.url).start()
    try:
        async with PetstoreClient(server.addr, trace=True) as traced:
            await traced.add([Pet("Rex", PetKind.CANINE, date(2019, 4, 1))])
        async with PetstoreClient(server.addr) as plain:
            await plain.search(names=["Rex"])  # not traced: sampler never, no `trace` key
        cli = [sys.executable, "-m", "petstore", "sampler", "--trace", "--addr", server.addr]
        shown = await asyncio.to_thread(subprocess.run, cli, capture_output=True, text=True, timeout=60)
        assert shown.returncode == 0, shown.stderr
        await eventually(
            lambda: (
                {"/petstore.v1.PetStore/AddPets", "/petstore.v1.PetStore/GetSampler"}
                <= {n for _, n, _ in receiver.spans()}
            )
        )
    finally:
        await server.astop()
    assert server.proc.popen is not None and server.proc.popen.returncode == 0, server.log_tail()
    names = [n for _, n, _ in receiver.spans()]
    assert "/petstore.v1.PetStore/AddPets" in names
    assert not any(n.endswith("/SearchPets") for n in names)
    assert {svc for svc, _, _ in receiver.spans()} == {"petstore"}
    add = next(s for _, n, s in receiver.spans() if n.endswith("/AddPets"))
    assert [e.name for e in add.events] == ["request validated", "pets added"]  # type: ignore[attr-defined]


async def test_sigterm_flushes_spans_still_waiting_in_the_batch(tmp_path: Path, receiver: Receiver) -> None:
    server = Petstore(tmp_path / "ps", sampler="always", otlp_endpoint=receiver.url)
    server.start()
    try:
        async with PetstoreClient(server.addr) as client:
            await client.get_sampler()
    finally:
        # SIGTERM right away, before the batch's schedule fires; stop in a thread, since the
        # flush on the way out needs this event loop's receiver to answer.
        await server.astop()
    assert server.proc.popen is not None and server.proc.popen.returncode == 0, server.log_tail()
    assert "/petstore.v1.PetStore/GetSampler" in [n for _, n, _ in receiver.spans()]
    assert "petstore.stopped" in server.log_tail()


async def test_metrics_move_after_calls_and_show_the_version(petstore: Petstore) -> None:
    before = _metrics(petstore.metrics_url)
    assert 'petstore_build_info{commit="",version="1.0.0"} 1.0' in before
    assert _value(before, 'petstore_requests_total{code="OK",method="AddPets"}') == 0
    async with PetstoreClient(petstore.addr) as client:
        await client.add([Pet("Rex", PetKind.CANINE, date(2019, 4, 1))])
        await client.add([Pet("Tom", PetKind.FELINE, date(2019, 4, 1))])
        with pytest.raises(grpc.aio.AioRpcError):
            await client.search()
        await client.change_sampler(SamplerSpec("always"))
    after = _metrics(petstore.metrics_url)
    assert _value(after, 'petstore_requests_total{code="OK",method="AddPets"}') == 2
    assert _value(after, 'petstore_requests_total{code="INVALID_ARGUMENT",method="SearchPets"}') == 1
    assert _value(after, 'petstore_request_errors_total{method="SearchPets"}') == 1
    assert _value(after, 'petstore_request_errors_total{method="AddPets"}') == 0
    assert _value(after, 'petstore_request_duration_seconds_count{method="AddPets"}') == 2
    assert _value(after, 'petstore_requests_in_flight{method="AddPets"}') == 0
    assert _value(after, "petstore_pets") == 2


async def test_version_comes_from_settings(tmp_path: Path) -> None:
    server = Petstore(tmp_path / "ps", version="2.3.4-rc1").start()
    try:
        assert 'petstore_build_info{commit="",version="2.3.4-rc1"} 1.0' in _metrics(server.metrics_url)
        async with PetstoreClient(server.addr) as client:
            sampler = await client.get_sampler()
        assert sampler.float_value == pytest.approx(0.1)
    finally:
        server.stop()


def test_a_taken_port_is_a_clear_error_not_a_shared_port(petstore: Petstore, tmp_path: Path) -> None:
    second = Petstore(tmp_path / "second")
    second.port = petstore.port
    with pytest.raises(RuntimeError) as info:
        second.start()
    second.stop()
    assert f"cannot listen for gRPC on 127.0.0.1:{petstore.port}" in str(info.value)
    assert second.proc.popen is not None and second.proc.popen.returncode == 1


def test_python_m_names_a_bad_setting_in_one_line_with_exit_2(tmp_path: Path) -> None:
    result = python_m("petstore", "serve", cwd=tmp_path, PETSTORE_SAMPLER="sometimes")
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("chatops petstore: configuration error: PETSTORE_SAMPLER:")
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def _prom_series(prom_url: str, promql: str) -> list[dict[str, str]]:
    """The label sets of an instant query's result."""
    url = f"{prom_url}/api/v1/query?query=" + urllib.parse.quote(promql)
    with urllib.request.urlopen(url, timeout=5) as resp:
        return [dict(r["metric"]) for r in json.load(resp)["data"]["result"]]


async def test_prometheus_scrapes_the_petstore(petstore: Petstore, tmp_path: Path) -> None:
    prom = Prometheus(tmp_path / "prom", scrape_targets={"petstore": [petstore.metrics_target]})
    await asyncio.to_thread(prom.start)
    try:
        async with PetstoreClient(petstore.addr) as client:
            with pytest.raises(grpc.aio.AioRpcError):
                await client.search()
        promql = 'petstore_build_info or petstore_request_errors_total{method="SearchPets"} > 0'
        wanted = {"petstore_build_info", "petstore_request_errors_total"}

        async def scraped() -> list[dict[str, str]] | None:
            found = await asyncio.to_thread(_prom_series, prom.url, promql)
            return found if {s["__name__"] for s in found} == wanted else None

        series = await eventually(scraped, timeout=60, what=f"{wanted} in Prometheus")
        build = next(s for s in series if s["__name__"] == "petstore_build_info")
        assert build["version"] == "1.0.0"
        assert build["job"] == "petstore"
    finally:
        await asyncio.to_thread(prom.stop)


async def test_sigterm_lets_a_call_in_flight_finish(petstore: Petstore) -> None:
    async with PetstoreClient(petstore.addr, timeout=60) as client:
        for batch in range(5):
            await client.add([Pet(f"d{batch}-{i:03}", PetKind.BIRD, date(2016, 1, 1)) for i in range(1000)])
    # No window growth, so the server is held by flow control until this client reads on.
    options = [("grpc.http2.bdp_probe", 0)]
    async with grpc.aio.insecure_channel(petstore.addr, options=options) as channel:
        stub = pb_grpc.PetStoreStub(channel)  # type: ignore[no-untyped-call]
        call = stub.SearchPets(pb.SearchPetsRequest(types=[pb.PET_TYPE_BIRD]), timeout=60)
        first = await call.read()
        assert petstore.proc.popen is not None
        petstore.proc.popen.send_signal(signal.SIGTERM)
        # The server is now stopping, with this stream still open.
        await eventually(lambda: "petstore.stopping" in petstore.log_tail(), what="the petstore stopping")
        rest = []
        while (pet := await call.read()) is not grpc.aio.EOF:  # type: ignore[attr-defined]
            rest.append(pet)
        assert len(rest) + 1 == 5000 and first.name == "d0-000"
        assert await call.code() == grpc.StatusCode.OK
    code = await asyncio.to_thread(petstore.proc.popen.wait, 30)
    assert code == 0, petstore.log_tail()
