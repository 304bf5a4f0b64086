"""The petstore's sampler over gRPC (petstore.v1.PetStore), with a deadline and trace propagation."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Protocol, cast

import grpc

from chatops import samplers
from chatops.errors import BACKEND_FAILED, BACKEND_TIMEOUT
from ops.errors import OpsError
from ops.tracing import TRACEPARENT, client_span, traceparent
from petstore.v1 import petstore_pb2, petstore_pb2_grpc

NAME = "petstore"


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


_KINDS = samplers.kind_names(petstore_pb2.SamplerType)
_TYPES = {kind: cast(petstore_pb2.SamplerType, value) for value, kind in _KINDS.items()}


def _from_pb(s: petstore_pb2.Sampler) -> SamplerSetting:
    return SamplerSetting(_KINDS.get(s.type, "unspecified"), s.float_value)


def _to_pb(s: SamplerSetting) -> petstore_pb2.Sampler:
    return petstore_pb2.Sampler(type=_TYPES[s.kind], float_value=s.rate if s.kind == samplers.RATED else 0.0)


class GrpcPetstore:
    """SamplerBackend over grpc.aio channels to PETSTORE_ADDR: one address, or every instance's.

    With several instances a change goes to each of them, and reading asks the first that answers.
    """

    def __init__(self, addr: str, timeout: float) -> None:
        self.addrs = tuple(a.strip() for a in addr.split(",") if a.strip())
        self.timeout = timeout
        self.channels = [grpc.aio.insecure_channel(a) for a in self.addrs]
        self.stubs = [petstore_pb2_grpc.PetStoreStub(c) for c in self.channels]  # type: ignore[no-untyped-call]

    @property
    def addr(self) -> str:
        return ",".join(self.addrs)

    async def close(self) -> None:
        for channel in self.channels:
            await channel.close(None)

    def _metadata(self) -> tuple[tuple[str, str], ...]:
        parent = traceparent()
        return ((TRACEPARENT, parent),) if parent else ()

    def _error(self, exc: grpc.aio.AioRpcError, addr: str) -> OpsError:
        code = exc.code()
        if code == grpc.StatusCode.DEADLINE_EXCEEDED:
            return OpsError(
                BACKEND_TIMEOUT, f"{NAME} at {addr} did not answer within {self.timeout:g}s", backend=NAME
            )
        detail = exc.details() or code.name
        return OpsError(BACKEND_FAILED, f"{NAME} at {addr} failed: {code.name}: {detail}", backend=NAME)

    async def get(self) -> SamplerSetting:
        failed: OpsError | None = None
        with client_span("petstore GetSampler"):
            for addr, stub in zip(self.addrs, self.stubs, strict=True):
                try:
                    reply = await stub.GetSampler(
                        petstore_pb2.GetSamplerRequest(), timeout=self.timeout, metadata=self._metadata()
                    )
                except grpc.aio.AioRpcError as exc:
                    failed = failed or self._error(exc, addr)  # an instance mid-deploy: ask the next
                    continue
                return _from_pb(reply.sampler)
        assert failed is not None
        raise failed

    async def _change_one(
        self, stub: petstore_pb2_grpc.PetStoreStub, setting: SamplerSetting
    ) -> tuple[SamplerSetting, SamplerSetting]:
        reply = await stub.ChangeSampler(
            petstore_pb2.ChangeSamplerRequest(sampler=_to_pb(setting)),
            timeout=self.timeout,
            metadata=self._metadata(),
        )
        return _from_pb(reply.previous), _from_pb(reply.current)

    async def change(self, setting: SamplerSetting) -> tuple[SamplerSetting, SamplerSetting]:
        with client_span("petstore ChangeSampler"):
            results = await asyncio.gather(
                *(self._change_one(stub, setting) for stub in self.stubs), return_exceptions=True
            )
        changed = [r for r in results if not isinstance(r, BaseException)]
        for addr, result in zip(self.addrs, results, strict=True):
            if isinstance(result, grpc.aio.AioRpcError):
                error = self._error(result, addr)
                if changed:
                    pairs = zip(self.addrs, results, strict=True)
                    done = [a for a, r in pairs if not isinstance(r, BaseException)]
                    error.text += f" (changed on {', '.join(done)})"
                raise error
            if isinstance(result, BaseException):
                raise result
        return changed[0]
