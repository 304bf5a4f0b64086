"""The petstore's sampler over gRPC (petstore.v1.PetStore), with a deadline and trace propagation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import grpc
from opentelemetry import propagate, trace

from chatops.errors import BACKEND_FAILED, BACKEND_TIMEOUT
from ops.errors import OpsError
from petstore.v1 import petstore_pb2, petstore_pb2_grpc

NAME = "petstore"
_tracer = trace.get_tracer(__name__)


@dataclass(frozen=True)
class SamplerSetting:
    """A sampler: kind is `never`, `always` or `float`; rate is for `float`."""

    kind: str
    rate: float = 0.0


class SamplerBackend(Protocol):
    """Read and switch the petstore's trace sampler."""

    async def get(self) -> SamplerSetting: ...

    async def change(self, setting: SamplerSetting) -> tuple[SamplerSetting, SamplerSetting]:
        """Switch; returns (previous, current)."""
        ...


_KINDS = {
    petstore_pb2.SAMPLER_TYPE_NEVER: "never",
    petstore_pb2.SAMPLER_TYPE_ALWAYS: "always",
    petstore_pb2.SAMPLER_TYPE_FLOAT: "float",
}
_TYPES = {v: k for k, v in _KINDS.items()}


def _from_pb(s: petstore_pb2.Sampler) -> SamplerSetting:
    return SamplerSetting(_KINDS.get(s.type, "unspecified"), s.float_value)


def _to_pb(s: SamplerSetting) -> petstore_pb2.Sampler:
    return petstore_pb2.Sampler(type=_TYPES[s.kind], float_value=s.rate if s.kind == "float" else 0.0)


class GrpcPetstore:
    """SamplerBackend over a grpc.aio channel to PETSTORE_ADDR."""

    def __init__(self, addr: str, timeout: float) -> None:
        self.addr = addr
        self.timeout = timeout
        self.channel = grpc.aio.insecure_channel(addr)
        self.stub = petstore_pb2_grpc.PetStoreStub(self.channel)  # type: ignore[no-untyped-call]

    async def close(self) -> None:
        await self.channel.close(None)

    def _metadata(self) -> tuple[tuple[str, str], ...]:
        carrier: dict[str, str] = {}
        propagate.inject(carrier)
        return tuple((k.lower(), v) for k, v in carrier.items())

    def _error(self, exc: grpc.aio.AioRpcError) -> OpsError:
        code = exc.code()
        if code == grpc.StatusCode.DEADLINE_EXCEEDED:
            return OpsError(BACKEND_TIMEOUT, f"{NAME} did not answer within {self.timeout:g}s", backend=NAME)
        detail = exc.details() or code.name
        return OpsError(BACKEND_FAILED, f"{NAME} at {self.addr} failed: {code.name}: {detail}", backend=NAME)

    async def get(self) -> SamplerSetting:
        with _tracer.start_as_current_span("petstore GetSampler", kind=trace.SpanKind.CLIENT):
            try:
                reply = await self.stub.GetSampler(
                    petstore_pb2.GetSamplerRequest(), timeout=self.timeout, metadata=self._metadata()
                )
            except grpc.aio.AioRpcError as exc:
                raise self._error(exc) from None
        return _from_pb(reply.sampler)

    async def change(self, setting: SamplerSetting) -> tuple[SamplerSetting, SamplerSetting]:
        with _tracer.start_as_current_span("petstore ChangeSampler", kind=trace.SpanKind.CLIENT):
            try:
                reply = await self.stub.ChangeSampler(
                    petstore_pb2.ChangeSamplerRequest(sampler=_to_pb(setting)),
                    timeout=self.timeout,
                    metadata=self._metadata(),
                )
            except grpc.aio.AioRpcError as exc:
                raise self._error(exc) from None
        return _from_pb(reply.previous), _from_pb(reply.current)
