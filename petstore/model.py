"""The store's own values: pets and search filters, independent of the wire format."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date


class PetKind(enum.IntEnum):
    """What kind of animal a pet is; the numbers match `petstore.v1.PetType`."""

    CANINE = 1
    FELINE = 2
    BIRD = 3
    REPTILE = 4


@dataclass(frozen=True)
class Pet:
    """One pet; `id` is empty until the store assigns one."""

    name: str
    kind: PetKind
    birthday: date
    id: str = ""


@dataclass(frozen=True)
class SearchFilter:
    """Every set part must match; an empty set of names or kinds means "any"."""

    names: frozenset[str] = frozenset()
    kinds: frozenset[PetKind] = frozenset()
    born_from: date | None = None
    born_to: date | None = None

    def __post_init__(self) -> None:
        if not (self.names or self.kinds or self.born_from or self.born_to):
            raise ValueError("a search needs at least one filter")

    def matches(self, pet: Pet) -> bool:
        """Whether `pet` passes every filter that is set."""
        if self.names and pet.name not in self.names:
            return False
        if self.kinds and pet.kind not in self.kinds:
            return False
        if self.born_from and pet.birthday < self.born_from:
            return False
        return not (self.born_to and pet.birthday > self.born_to)
