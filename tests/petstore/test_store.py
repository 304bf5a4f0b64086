"""The in-memory store: all-or-nothing changes, stable search order, safe across threads."""

from __future__ import annotations

import threading
from datetime import date

import pytest

from petstore.errors import NotFound
from petstore.model import Pet, PetKind, SearchFilter
from petstore.store import PetStore

REX = Pet("Rex", PetKind.CANINE, date(2019, 4, 1))


def test_update_and_delete_are_all_or_nothing() -> None:
    store = PetStore()
    (rex,) = store.add([REX])
    with pytest.raises(NotFound) as info:
        store.update(
            [
                Pet("Max", PetKind.CANINE, date(2019, 4, 1), id=rex),
                Pet("G", PetKind.BIRD, REX.birthday, id="gone"),
            ]
        )
    assert info.value.ids == ("gone",)
    assert [p.name for p in store.search(SearchFilter(kinds=frozenset({PetKind.CANINE})))] == ["Rex"]
    with pytest.raises(NotFound):
        store.delete([rex, "gone"])
    assert len(store) == 1


def test_a_filter_needs_something() -> None:
    with pytest.raises(ValueError):
        SearchFilter()


def test_birthday_bounds_are_inclusive() -> None:
    store = PetStore()
    store.add([REX])
    assert store.search(SearchFilter(born_from=date(2019, 4, 1), born_to=date(2019, 4, 1)))
    assert not store.search(SearchFilter(born_from=date(2019, 4, 2), born_to=date(2020, 1, 1)))


def test_threads_adding_and_deleting_leave_a_consistent_store() -> None:
    store = PetStore()

    def work(n: int) -> None:
        for i in range(200):
            (pid,) = store.add([Pet(f"t{n}-{i}", PetKind.REPTILE, date(2015, 1, 1))])
            if i % 2:
                store.delete([pid])

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(store) == 8 * 100
    assert len(store.search(SearchFilter(kinds=frozenset({PetKind.REPTILE})))) == 800
