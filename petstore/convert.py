"""The store's values back to wire messages."""

from __future__ import annotations

from typing import cast

from petstore.model import Pet
from petstore.sampler import TYPE, SamplerSpec
from petstore.v1 import petstore_pb2 as pb


def pet_to_proto(pet: Pet) -> pb.Pet:
    """One stored pet as a `petstore.v1.Pet`."""
    b = pet.birthday
    return pb.Pet(
        id=pet.id,
        name=pet.name,
        type=cast(pb.PetType, int(pet.kind)),
        birthday=pb.Date(year=b.year, month=b.month, day=b.day),
    )


def sampler_to_proto(spec: SamplerSpec) -> pb.Sampler:
    """A sampler spec as a `petstore.v1.Sampler`."""
    return pb.Sampler(type=TYPE[spec.kind], float_value=spec.rate)
