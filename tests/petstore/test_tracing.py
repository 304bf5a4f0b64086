"""The seed's sampler and span content, read from an in-memory exporter behind a real gRPC server."""

from __future__ import annotations

from datetime import date

import grpc
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import SpanKind, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from petstore.client import PetstoreClient
from petstore.model import Pet, PetKind
from petstore.sampler import SamplerSpec
from petstore.v1 import petstore_pb2 as pb
from petstore.v1 import petstore_pb2_grpc as pb_grpc
from tests.petstore.conftest import Live

REX = Pet("Rex", PetKind.CANINE, date(2019, 4, 1))


async def test_never_exports_only_calls_that_ask_for_a_trace(live_never: Live) -> None:
    await live_never.client.search(names=["nobody"])
    async with PetstoreClient(live_never.addr, trace=True) as traced:
        await traced.search(names=["somebody"])
    spans = live_never.rpc_spans("SearchPets")
    assert len(spans) == 1
    assert spans[0].kind == SpanKind.SERVER
    assert any(
        e.name == "request validated" and e.attributes and e.attributes["names"] == "somebody"
        for e in spans[0].events
    )


async def test_never_exports_a_call_whose_remote_parent_is_sampled(live_never: Live) -> None:
    provider = TracerProvider()
    parent = provider.get_tracer("test").start_span("caller")
    carrier: dict[str, str] = {}
    from opentelemetry import trace

    TraceContextTextMapPropagator().inject(carrier, trace.set_span_in_context(parent))
    async with grpc.aio.insecure_channel(live_never.addr) as channel:
        stub = pb_grpc.PetStoreStub(channel)
        await stub.GetSampler(pb.GetSamplerRequest(), metadata=tuple(carrier.items()))
    parent.end()
    (span,) = live_never.rpc_spans("GetSampler")
    assert span.context.trace_id == parent.get_span_context().trace_id
    assert span.parent is not None and span.parent.span_id == parent.get_span_context().span_id


async def test_after_change_to_always_every_call_is_exported(live_never: Live) -> None:
    await live_never.client.search(names=["a"])
    assert live_never.rpc_spans() == []
    reply = await live_never.client.change_sampler(SamplerSpec("always"))
    assert reply.previous.type == pb.SAMPLER_TYPE_NEVER and reply.current.type == pb.SAMPLER_TYPE_ALWAYS
    for i in range(20):
        await live_never.client.search(names=[f"n{i}"])
    assert len(live_never.rpc_spans("SearchPets")) == 20
    assert (await live_never.client.get_sampler()).type == pb.SAMPLER_TYPE_ALWAYS


async def test_float_half_exports_between_30_and_70_percent(live_never: Live) -> None:
    await live_never.client.change_sampler(SamplerSpec("float", 0.5))
    sampler = await live_never.client.get_sampler()
    assert (sampler.type, sampler.float_value) == (pb.SAMPLER_TYPE_FLOAT, 0.5)
    for _ in range(400):
        await live_never.client.get_sampler()
    exported = len(live_never.rpc_spans("GetSampler"))
    assert 120 <= exported <= 280, exported


@pytest.mark.parametrize(
    ("sampler", "field"),
    [
        (pb.Sampler(type=pb.SAMPLER_TYPE_FLOAT, float_value=0.0), "sampler.float_value"),
        (pb.Sampler(type=pb.SAMPLER_TYPE_FLOAT, float_value=1.5), "sampler.float_value"),
        (pb.Sampler(type=pb.SAMPLER_TYPE_FLOAT, float_value=-0.1), "sampler.float_value"),
        (pb.Sampler(type=pb.SAMPLER_TYPE_FLOAT, float_value=float("nan")), "sampler.float_value"),
        (pb.Sampler(type=pb.SAMPLER_TYPE_UNSPECIFIED), "sampler.type"),
        (pb.Sampler(type=42), "sampler.type"),  # type: ignore[arg-type]
    ],
)
async def test_bad_change_sampler_is_invalid_and_leaves_it_unchanged(
    live_never: Live, sampler: pb.Sampler, field: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await live_never.client.change_sampler(sampler)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (info.value.details() or "").startswith(field + ":")
    assert (await live_never.client.get_sampler()).type == pb.SAMPLER_TYPE_NEVER
    assert live_never.server.sampler.spec == SamplerSpec("never")


async def test_change_sampler_without_a_sampler_names_the_field(live_never: Live) -> None:
    async with grpc.aio.insecure_channel(live_never.addr) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await pb_grpc.PetStoreStub(channel).ChangeSampler(pb.ChangeSamplerRequest())
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (info.value.details() or "").startswith("sampler:")


async def test_span_has_rpc_attributes_and_log_lines_as_events(live: Live) -> None:
    await live.client.add([REX, REX])
    (span,) = live.rpc_spans("AddPets")
    attrs = dict(span.attributes or {})
    assert attrs["rpc.system"] == "grpc"
    assert attrs["rpc.method"] == "AddPets"
    assert attrs["rpc.service"] == "petstore.v1.PetStore"
    size = attrs["rpc.request.size"]
    assert isinstance(size, int) and size > 0
    assert attrs["petstore.result.count"] == 2
    assert attrs["rpc.grpc.status_code"] == 0
    assert [e.name for e in span.events] == ["request validated", "pets added"]
    assert span.events[1].attributes and span.events[1].attributes["count"] == 2
    assert span.resource.attributes["service.name"] == "petstore"
    assert span.resource.attributes["service.version"] == "9.9.9"
    children = {
        s.name
        for s in live.spans.get_finished_spans()
        if s.parent and s.parent.span_id == span.context.span_id
    }
    assert children == {"validate", "store.add"}


async def test_errored_call_has_status_error_and_the_error_text(live: Live) -> None:
    with pytest.raises(grpc.aio.AioRpcError):
        await live.client.search(names=["ok", ""])
    (span,) = live.rpc_spans("SearchPets")
    assert span.status.status_code == StatusCode.ERROR
    assert span.status.description == "names[1]: is required"
    assert (span.attributes or {})["rpc.grpc.status_code"] == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    exception = next(e for e in span.events if e.name == "exception")
    assert exception.attributes and exception.attributes["exception.message"] == "names[1]: is required"
    failed = next(e for e in span.events if e.name == "request failed")
    assert failed.attributes and failed.attributes["error"] == "names[1]: is required"


async def test_not_found_is_recorded_on_the_span(live: Live) -> None:
    ghost = "8a5c6b1e-4f1d-4d3e-9a2b-0c1d2e3f4a5b"
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await live.client.delete([ghost])
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
    (span,) = live.rpc_spans("DeletePets")
    assert span.status.status_code == StatusCode.ERROR
    assert ghost in (span.status.description or "")
