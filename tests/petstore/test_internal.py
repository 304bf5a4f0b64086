"""A handler that crashes becomes INTERNAL for the caller, an ERROR span, and an error count."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import grpc
import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Span, StatusCode

from petstore.client import PetstoreClient
from petstore.metrics import PetstoreMetrics
from petstore.sampler import PetstoreSampler, SamplerSpec
from petstore.servicer import PetStoreService
from petstore.store import PetStore
from petstore.telemetry import tracer_provider
from petstore.v1 import petstore_pb2 as pb
from petstore.v1 import petstore_pb2_grpc as pb_grpc


class CrashingService(PetStoreService):
    """GetSampler fails with a bug-like error, as a broken backend would."""

    async def _get_sampler(self, request: pb.GetSamplerRequest, span: Span) -> pb.GetSamplerResponse:
        raise RuntimeError("boom: the sampler table is corrupt")


@pytest.fixture
async def crashing() -> AsyncIterator[tuple[PetstoreClient, InMemorySpanExporter, PetstoreMetrics]]:
    exporter = InMemorySpanExporter()
    sampler = PetstoreSampler(SamplerSpec("always"))
    provider = tracer_provider(sampler, "1", [SimpleSpanProcessor(exporter)])
    metrics = PetstoreMetrics("1")
    server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
    service = CrashingService(PetStore(), sampler, provider.get_tracer("t"), metrics)
    pb_grpc.add_PetStoreServicer_to_server(service, server)  # type: ignore[no-untyped-call]
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    async with AsyncExitStack() as stack:
        stack.push_async_callback(server.stop, None)
        client = PetstoreClient(f"127.0.0.1:{port}")
        stack.push_async_callback(client.close)
        yield client, exporter, metrics


async def test_crash_is_internal_with_a_plain_message(
    crashing: tuple[PetstoreClient, InMemorySpanExporter, PetstoreMetrics],
) -> None:
    client, exporter, metrics = crashing
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await client.get_sampler()
    assert info.value.code() == grpc.StatusCode.INTERNAL
    assert "boom" not in (info.value.details() or "")  # internals stay in the trace, not the reply
    (span,) = [s for s in exporter.get_finished_spans() if s.name.endswith("/GetSampler")]
    assert span.status.status_code == StatusCode.ERROR
    assert span.status.description == "boom: the sampler table is corrupt"
    assert any(e.name == "exception" for e in span.events)
    text = metrics.exposition().decode()
    assert 'petstore_requests_total{code="INTERNAL",method="GetSampler"} 1.0' in text
    assert 'petstore_request_errors_total{method="GetSampler"} 1.0' in text
    # The service keeps answering other calls.
    assert await client.search(names=["x"]) == []
