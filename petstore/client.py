"""An async client for the petstore, used by the CLI and the demo load."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from types import TracebackType
from typing import cast

import grpc

from petstore.convert import pet_to_proto, sampler_to_proto
from petstore.instrument import TRACE_METADATA_KEY
from petstore.model import Pet, PetKind
from petstore.sampler import SamplerSpec
from petstore.v1 import petstore_pb2 as pb
from petstore.v1 import petstore_pb2_grpc as pb_grpc

Metadata = tuple[tuple[str, str], ...]


# Instances come and go during a deploy: reconnect within a fraction of a second, not gRPC's
# default back-off of up to two minutes, so a restarted instance gets its share of calls again.
_RECONNECT = (("grpc.initial_reconnect_backoff_ms", 200), ("grpc.max_reconnect_backoff_ms", 2000))


def channel_target(addr: str) -> tuple[str, tuple[tuple[str, object], ...]]:
    """`host:port` as it is; `a:1,b:2` as one channel that sends calls round robin to live addresses."""
    parts = [p.strip() for p in addr.split(",") if p.strip()]
    if len(parts) <= 1:
        return addr.strip(), _RECONNECT
    return "ipv4:" + ",".join(parts), (("grpc.lb_policy_name", "round_robin"), *_RECONNECT)


class PetstoreClient:
    """One channel to `addr` (one address, or several for round robin); `trace=True` asks the server
    to trace every call (metadata `trace`)."""

    def __init__(self, addr: str, *, trace: bool = False, timeout: float = 10.0) -> None:
        self.addr = addr
        target, options = channel_target(addr)
        self._channel = grpc.aio.insecure_channel(target, options=options)
        self._stub = pb_grpc.PetStoreStub(self._channel)  # type: ignore[no-untyped-call]
        self._metadata: Metadata = ((TRACE_METADATA_KEY, "true"),) if trace else ()
        self._timeout = timeout

    async def __aenter__(self) -> PetstoreClient:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        await self._channel.close(None)

    async def add(self, pets: Sequence[Pet] | Sequence[pb.Pet]) -> list[str]:
        """Add pets; returns their new ids."""
        req = pb.AddPetsRequest(pets=[_pb(p) for p in pets])
        reply = await self._stub.AddPets(req, metadata=self._metadata, timeout=self._timeout)
        return list(reply.ids)

    async def update(self, pets: Sequence[Pet] | Sequence[pb.Pet]) -> None:
        """Replace pets by id, all or nothing."""
        req = pb.UpdatePetsRequest(pets=[_pb(p) for p in pets])
        await self._stub.UpdatePets(req, metadata=self._metadata, timeout=self._timeout)

    async def delete(self, ids: Sequence[str]) -> None:
        """Delete pets by id, all or nothing."""
        req = pb.DeletePetsRequest(ids=list(ids))
        await self._stub.DeletePets(req, metadata=self._metadata, timeout=self._timeout)

    async def search(
        self,
        names: Sequence[str] = (),
        kinds: Sequence[PetKind | int] = (),
        born: tuple[date, date] | None = None,
    ) -> list[pb.Pet]:
        """Every pet matching the filter (at least one part must be set, or the server refuses)."""
        req = pb.SearchPetsRequest(names=list(names), types=[cast(pb.PetType, int(k)) for k in kinds])
        if born is not None:
            req.birthday_range.start.CopyFrom(_date(born[0]))
            req.birthday_range.end.CopyFrom(_date(born[1]))
        call = self._stub.SearchPets(req, metadata=self._metadata, timeout=self._timeout)
        return [pet async for pet in call]

    async def get_sampler(self) -> pb.Sampler:
        """The sampler in force."""
        reply = await self._stub.GetSampler(
            pb.GetSamplerRequest(), metadata=self._metadata, timeout=self._timeout
        )
        sampler: pb.Sampler = reply.sampler
        return sampler

    async def change_sampler(self, spec: SamplerSpec | pb.Sampler) -> pb.ChangeSamplerResponse:
        """Switch the sampler; returns the previous and current ones."""
        sampler = spec if isinstance(spec, pb.Sampler) else sampler_to_proto(spec)
        req = pb.ChangeSamplerRequest(sampler=sampler)
        reply: pb.ChangeSamplerResponse = await self._stub.ChangeSampler(
            req, metadata=self._metadata, timeout=self._timeout
        )
        return reply


def _pb(pet: Pet | pb.Pet) -> pb.Pet:
    return pet if isinstance(pet, pb.Pet) else pet_to_proto(pet)


def _date(d: date) -> pb.Date:
    return pb.Date(year=d.year, month=d.month, day=d.day)
