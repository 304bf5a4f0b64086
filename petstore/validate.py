"""Pure checks that turn wire requests into the store's values, or InvalidArgument naming the field."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date

from chatops.samplers import RATED, listed
from petstore.errors import InvalidArgument
from petstore.model import Pet, PetKind, SearchFilter
from petstore.sampler import KIND, SamplerSpec, SamplerSpecError
from petstore.v1 import petstore_pb2 as pb

MAX_NAME = 100
MAX_ITEMS = 1000
_SAMPLER_TYPES = listed([name for name, value in pb.SamplerType.items() if value], " or ")


def _date(field: str, value: pb.Date) -> date:
    try:
        return date(value.year, value.month, value.day)
    except ValueError as exc:
        raise InvalidArgument(
            field, f"{value.year}-{value.month}-{value.day} is not a date ({exc})"
        ) from None


def _kind(field: str, value: int) -> PetKind:
    try:
        return PetKind(value)
    except ValueError:
        names = ", ".join(k.name for k in PetKind)
        raise InvalidArgument(field, f"must be one of {names}") from None


def _name(field: str, value: str) -> str:
    if not value.strip():
        raise InvalidArgument(field, "is required")
    if len(value) > MAX_NAME:
        raise InvalidArgument(field, f"is {len(value)} characters; at most {MAX_NAME}")
    return value


def _pet_id(field: str, value: str) -> str:
    if not value:
        raise InvalidArgument(field, "is required")
    try:
        uuid.UUID(value)
    except ValueError:
        raise InvalidArgument(field, f"{value[:40]!r} is not a pet id (a UUID)") from None
    return value


def _count(field: str, items: Sequence[object]) -> None:
    if not items:
        raise InvalidArgument(field, "at least one is required")
    if len(items) > MAX_ITEMS:
        raise InvalidArgument(field, f"{len(items)} given; at most {MAX_ITEMS} per request")


def _pet(field: str, pet: pb.Pet) -> Pet:
    if not pet.HasField("birthday"):
        raise InvalidArgument(f"{field}.birthday", "is required")
    return Pet(
        name=_name(f"{field}.name", pet.name),
        kind=_kind(f"{field}.type", pet.type),
        birthday=_date(f"{field}.birthday", pet.birthday),
        id=pet.id,
    )


def _no_duplicates(field: str, ids: Sequence[str]) -> None:
    seen: set[str] = set()
    for i, pet_id in enumerate(ids):
        if pet_id in seen:
            raise InvalidArgument(f"{field}[{i}]", f"id {pet_id} appears twice")
        seen.add(pet_id)


def add_request(req: pb.AddPetsRequest) -> list[Pet]:
    """New pets, which must come without ids."""
    _count("pets", req.pets)
    pets = []
    for i, p in enumerate(req.pets):
        if p.id:
            raise InvalidArgument(f"pets[{i}].id", "must be empty; the store assigns ids")
        pets.append(_pet(f"pets[{i}]", p))
    return pets


def update_request(req: pb.UpdatePetsRequest) -> list[Pet]:
    """Replacement pets, each with the id of the pet it replaces."""
    _count("pets", req.pets)
    pets = []
    for i, p in enumerate(req.pets):
        _pet_id(f"pets[{i}].id", p.id)
        pets.append(_pet(f"pets[{i}]", p))
    _no_duplicates("pets", [p.id for p in pets])
    return pets


def delete_request(req: pb.DeletePetsRequest) -> list[str]:
    """The ids to delete, each a UUID, none twice."""
    _count("ids", req.ids)
    ids = [_pet_id(f"ids[{i}]", v) for i, v in enumerate(req.ids)]
    _no_duplicates("ids", ids)
    return ids


def search_request(req: pb.SearchPetsRequest) -> SearchFilter:
    """A filter with at least one part set; a birthday range needs both ends, in order."""
    names = [_name(f"names[{i}]", n) for i, n in enumerate(req.names)]
    kinds = [_kind(f"types[{i}]", t) for i, t in enumerate(req.types)]
    born_from = born_to = None
    if req.HasField("birthday_range"):
        r = req.birthday_range
        if not r.HasField("start"):
            raise InvalidArgument("birthday_range.start", "is required")
        if not r.HasField("end"):
            raise InvalidArgument("birthday_range.end", "is required")
        born_from = _date("birthday_range.start", r.start)
        born_to = _date("birthday_range.end", r.end)
        if born_to < born_from:
            raise InvalidArgument("birthday_range.end", f"{born_to} is before start {born_from}")
    if not (names or kinds or born_from):
        raise InvalidArgument("filter", "set at least one of names, types, birthday_range")
    return SearchFilter(frozenset(names), frozenset(kinds), born_from, born_to)


def sampler_request(req: pb.ChangeSamplerRequest) -> SamplerSpec:
    """The sampler to switch to: never, always, or float with float_value in (0, 1]."""
    if not req.HasField("sampler"):
        raise InvalidArgument("sampler", "is required")
    s = req.sampler
    kind = KIND.get(s.type)
    if kind is None:
        raise InvalidArgument("sampler.type", f"must be {_SAMPLER_TYPES}")
    if kind != RATED:
        return SamplerSpec(kind)  # a rate sent with never/always has no meaning; ignore it
    try:
        return SamplerSpec(kind, s.float_value)
    except SamplerSpecError as exc:
        raise InvalidArgument(f"sampler.{exc.field}", exc.reason) from None
