"""The PetStore RPCs: validate, act on the store or the sampler, answer; instrumented by Instrument."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
from opentelemetry.trace import Span, Tracer

from petstore import validate
from petstore.convert import pet_to_proto, sampler_to_proto
from petstore.fault import Fault
from petstore.instrument import Instrument
from petstore.metrics import PetstoreMetrics
from petstore.sampler import PetstoreSampler
from petstore.store import PetStore
from petstore.telemetry import note
from petstore.v1 import petstore_pb2 as pb
from petstore.v1 import petstore_pb2_grpc as pb_grpc

Ctx = grpc.aio.ServicerContext[Any, Any]


class PetStoreService(pb_grpc.PetStoreServicer):
    """Every RPC of `petstore.v1.PetStore` over one store and one sampler."""

    def __init__(
        self,
        store: PetStore,
        sampler: PetstoreSampler,
        tracer: Tracer,
        metrics: PetstoreMetrics,
        fault: Fault | None = None,
    ) -> None:
        self._fault = fault or Fault()
        self._store = store
        self._sampler = sampler
        self._tracer = tracer
        self._metrics = metrics
        self._rpc = Instrument(tracer, metrics)

    async def AddPets(self, request: pb.AddPetsRequest, context: Ctx) -> pb.AddPetsResponse:
        return await self._rpc.unary("AddPets", request, context, self._add)

    async def UpdatePets(self, request: pb.UpdatePetsRequest, context: Ctx) -> pb.UpdatePetsResponse:
        return await self._rpc.unary("UpdatePets", request, context, self._update)

    async def DeletePets(self, request: pb.DeletePetsRequest, context: Ctx) -> pb.DeletePetsResponse:
        return await self._rpc.unary("DeletePets", request, context, self._delete)

    async def SearchPets(  # type: ignore[override]
        self, request: pb.SearchPetsRequest, context: Ctx
    ) -> AsyncIterator[pb.Pet]:
        async for pet in self._rpc.stream("SearchPets", request, context, self._search):
            yield pet

    async def ChangeSampler(self, request: pb.ChangeSamplerRequest, context: Ctx) -> pb.ChangeSamplerResponse:
        return await self._rpc.unary("ChangeSampler", request, context, self._change_sampler)

    async def GetSampler(self, request: pb.GetSamplerRequest, context: Ctx) -> pb.GetSamplerResponse:
        return await self._rpc.unary("GetSampler", request, context, self._get_sampler)

    async def _add(self, request: pb.AddPetsRequest, span: Span) -> pb.AddPetsResponse:
        self._fault.check()
        span.set_attribute("petstore.request.pets", len(request.pets))
        with self._tracer.start_as_current_span("validate"):
            pets = validate.add_request(request)
        note(span, "request validated", pets=len(pets))
        with self._tracer.start_as_current_span("store.add"):
            ids = self._store.add(pets)
        self._metrics.pets.set(len(self._store))
        note(span, "pets added", count=len(ids), ids=",".join(ids[:20]))
        span.set_attribute("petstore.result.count", len(ids))
        return pb.AddPetsResponse(ids=ids)

    async def _update(self, request: pb.UpdatePetsRequest, span: Span) -> pb.UpdatePetsResponse:
        self._fault.check()
        span.set_attribute("petstore.request.pets", len(request.pets))
        with self._tracer.start_as_current_span("validate"):
            pets = validate.update_request(request)
        note(span, "request validated", pets=len(pets))
        with self._tracer.start_as_current_span("store.update"):
            self._store.update(pets)
        note(span, "pets updated", count=len(pets))
        span.set_attribute("petstore.result.count", len(pets))
        return pb.UpdatePetsResponse()

    async def _delete(self, request: pb.DeletePetsRequest, span: Span) -> pb.DeletePetsResponse:
        self._fault.check()
        span.set_attribute("petstore.request.ids", len(request.ids))
        with self._tracer.start_as_current_span("validate"):
            ids = validate.delete_request(request)
        note(span, "request validated", ids=len(ids))
        with self._tracer.start_as_current_span("store.delete"):
            self._store.delete(ids)
        self._metrics.pets.set(len(self._store))
        note(span, "pets deleted", count=len(ids))
        span.set_attribute("petstore.result.count", len(ids))
        return pb.DeletePetsResponse()

    async def _search(self, request: pb.SearchPetsRequest, span: Span) -> list[pb.Pet]:
        self._fault.check()
        span.set_attribute("petstore.request.names", len(request.names))
        span.set_attribute("petstore.request.types", len(request.types))
        span.set_attribute("petstore.request.birthday_range", request.HasField("birthday_range"))
        with self._tracer.start_as_current_span("validate"):
            where = validate.search_request(request)
        note(span, "request validated", names=",".join(sorted(where.names)[:20]))
        with self._tracer.start_as_current_span("store.search"):
            found = self._store.search(where)
        note(span, "pets found", count=len(found))
        span.set_attribute("petstore.result.count", len(found))
        return [pet_to_proto(pet) for pet in found]

    async def _change_sampler(self, request: pb.ChangeSamplerRequest, span: Span) -> pb.ChangeSamplerResponse:
        spec = validate.sampler_request(request)
        previous = self._sampler.switch(spec)
        note(span, "sampler changed", previous=str(previous), current=str(spec))
        span.set_attribute("petstore.sampler", str(spec))
        return pb.ChangeSamplerResponse(previous=sampler_to_proto(previous), current=sampler_to_proto(spec))

    async def _get_sampler(self, request: pb.GetSamplerRequest, span: Span) -> pb.GetSamplerResponse:
        spec = self._sampler.spec
        span.set_attribute("petstore.sampler", str(spec))
        return pb.GetSamplerResponse(sampler=sampler_to_proto(spec))
