"""The in-memory pet store; every operation is atomic and all-or-nothing."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace

from petstore.errors import NotFound
from petstore.model import Pet, SearchFilter


class PetStore:
    """Pets by id behind one lock, so concurrent requests never see half a change."""

    def __init__(self, new_id: Callable[[], str] = lambda: str(uuid.uuid4())) -> None:
        self._pets: dict[str, Pet] = {}
        self._lock = threading.Lock()
        self._new_id = new_id

    def __len__(self) -> int:
        with self._lock:
            return len(self._pets)

    def add(self, pets: Sequence[Pet]) -> list[str]:
        """Store every pet under a fresh id; returns the ids in order."""
        added = [replace(p, id=self._new_id()) for p in pets]
        with self._lock:
            self._pets.update((p.id, p) for p in added)
        return [p.id for p in added]

    def update(self, pets: Sequence[Pet]) -> None:
        """Replace pets by id; if any id is unknown, raise NotFound and change nothing."""
        with self._lock:
            missing = [p.id for p in pets if p.id not in self._pets]
            if missing:
                raise NotFound(missing)
            self._pets.update((p.id, p) for p in pets)

    def delete(self, ids: Sequence[str]) -> None:
        """Remove pets by id; if any id is unknown, raise NotFound and change nothing."""
        with self._lock:
            missing = [i for i in ids if i not in self._pets]
            if missing:
                raise NotFound(missing)
            for i in ids:
                del self._pets[i]

    def search(self, where: SearchFilter) -> list[Pet]:
        """Every matching pet, ordered by name then id so results are stable."""
        with self._lock:
            found = [p for p in self._pets.values() if where.matches(p)]
        return sorted(found, key=lambda p: (p.name, p.id))
