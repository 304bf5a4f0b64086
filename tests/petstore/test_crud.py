"""CRUD and streaming search against a real gRPC server on loopback; bad requests change nothing."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date

import grpc
import pytest

from petstore.model import Pet, PetKind
from petstore.v1 import petstore_pb2 as pb
from petstore.v1 import petstore_pb2_grpc as pb_grpc
from tests.petstore.conftest import Live
from tools.harness.wait import eventually

REX = Pet("Rex", PetKind.CANINE, date(2019, 4, 1))
TOM = Pet("Tom", PetKind.FELINE, date(2020, 6, 15))
TWEETY = Pet("Tweety", PetKind.BIRD, date(2021, 1, 2))


async def _status(call: object) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call  # type: ignore[misc]
    return info.value.code(), info.value.details() or ""


async def test_add_then_search_by_name_type_and_birthday(live: Live) -> None:
    ids = await live.client.add([REX, TOM, TWEETY])
    assert len(ids) == 3 and len(set(ids)) == 3
    by_name = await live.client.search(names=["Rex", "Tweety"])
    assert [(p.name, p.id) for p in by_name] == [("Rex", ids[0]), ("Tweety", ids[2])]
    by_kind = await live.client.search(kinds=[PetKind.FELINE])
    assert [p.name for p in by_kind] == ["Tom"]
    assert by_kind[0].birthday == pb.Date(year=2020, month=6, day=15)
    by_birthday = await live.client.search(born=(date(2019, 1, 1), date(2020, 12, 31)))
    assert [p.name for p in by_birthday] == ["Rex", "Tom"]
    both = await live.client.search(names=["Rex", "Tom"], kinds=[PetKind.CANINE])
    assert [p.name for p in both] == ["Rex"]


async def test_search_streams_many_results(live: Live) -> None:
    await live.client.add([Pet(f"dog{i:03}", PetKind.CANINE, date(2018, 1, 1)) for i in range(250)])
    found = await live.client.search(kinds=[PetKind.CANINE])
    assert [p.name for p in found] == [f"dog{i:03}" for i in range(250)]


async def test_update_and_delete(live: Live) -> None:
    rex_id, tom_id = await live.client.add([REX, TOM])
    await live.client.update([Pet("Rex II", PetKind.CANINE, date(2019, 4, 2), id=rex_id)])
    found = await live.client.search(names=["Rex II"])
    assert [(p.id, p.birthday.day) for p in found] == [(rex_id, 2)]
    await live.client.delete([rex_id])
    assert await live.client.search(kinds=[PetKind.CANINE]) == []
    assert [p.id for p in await live.client.search(names=["Tom"])] == [tom_id]


async def test_update_with_a_missing_id_is_not_found_and_changes_nothing(live: Live) -> None:
    (rex_id,) = await live.client.add([REX])
    ghost = str(uuid.uuid4())
    code, details = await _status(
        live.client.update(
            [
                Pet("Renamed", PetKind.CANINE, date(2019, 4, 1), id=rex_id),
                Pet("Ghost", PetKind.CANINE, date(2019, 4, 1), id=ghost),
            ]
        )
    )
    assert code == grpc.StatusCode.NOT_FOUND
    assert ghost in details
    assert [p.name for p in await live.client.search(kinds=[PetKind.CANINE])] == ["Rex"]


async def test_delete_with_a_missing_id_is_not_found_and_deletes_nothing(live: Live) -> None:
    ids = await live.client.add([REX, TOM])
    ghost = str(uuid.uuid4())
    code, details = await _status(live.client.delete([ids[0], ghost]))
    assert code == grpc.StatusCode.NOT_FOUND and ghost in details
    assert len(live.server.store) == 2


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (pb.AddPetsRequest(), "pets"),
        (
            pb.AddPetsRequest(
                pets=[pb.Pet(type=pb.PET_TYPE_CANINE, birthday=pb.Date(year=2020, month=1, day=1))]
            ),
            "pets[0].name",
        ),
        (
            pb.AddPetsRequest(
                pets=[
                    pb.Pet(name="a", type=pb.PET_TYPE_CANINE, birthday=pb.Date(year=2020, month=1, day=1)),
                    pb.Pet(name="b", birthday=pb.Date(year=2020, month=1, day=1)),
                ]
            ),
            "pets[1].type",
        ),
        (pb.AddPetsRequest(pets=[pb.Pet(name="a", type=pb.PET_TYPE_CANINE)]), "pets[0].birthday"),
        (
            pb.AddPetsRequest(
                pets=[pb.Pet(name="a", type=pb.PET_TYPE_CANINE, birthday=pb.Date(year=2020, month=2, day=30))]
            ),
            "pets[0].birthday",
        ),
        (
            pb.AddPetsRequest(
                pets=[
                    pb.Pet(
                        name="x" * 101, type=pb.PET_TYPE_CANINE, birthday=pb.Date(year=2020, month=1, day=1)
                    )
                ]
            ),
            "pets[0].name",
        ),
    ],
)
async def test_bad_add_is_invalid_argument_naming_the_field_and_adds_nothing(
    live: Live, request_: pb.AddPetsRequest, field: str
) -> None:
    code, details = await _status(
        live.client.add(list(request_.pets)) if request_.pets else live.client.add([])
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert details.startswith(field + ":"), details
    assert len(live.server.store) == 0


async def test_bad_search_update_delete_name_the_field(live: Live) -> None:
    (rex_id,) = await live.client.add([REX])
    cases = [
        (live.client.search(), "filter"),
        (live.client.search(names=[""]), "names[0]"),
        (live.client.search(kinds=[9]), "types[0]"),
        (live.client.search(born=(date(2020, 1, 2), date(2020, 1, 1))), "birthday_range.end"),
        (live.client.delete([]), "ids"),
        (live.client.delete(["not-a-uuid"]), "ids[0]"),
        (live.client.delete([rex_id, rex_id]), "ids[1]"),
        (live.client.update([Pet("Rex", PetKind.CANINE, date(2019, 1, 1))]), "pets[0].id"),
    ]
    for call, field in cases:
        code, details = await _status(call)
        assert code == grpc.StatusCode.INVALID_ARGUMENT, (field, details)
        assert details.startswith(field + ":"), details
    assert [p.id for p in await live.client.search(names=["Rex"])] == [rex_id]


async def test_concurrent_adds_and_deletes_stay_consistent(live: Live) -> None:
    batches = await asyncio.gather(
        *(
            live.client.add([Pet(f"p{n}-{i}", PetKind.REPTILE, date(2017, 3, 3)) for i in range(10)])
            for n in range(20)
        )
    )
    all_ids = [i for batch in batches for i in batch]
    assert len(set(all_ids)) == 200
    await asyncio.gather(*(live.client.delete(batch) for batch in batches[:10]))
    assert len(await live.client.search(kinds=[PetKind.REPTILE])) == 100


async def test_a_cancelled_search_leaves_nothing_in_flight(live: Live) -> None:
    for batch in range(5):
        await live.client.add([Pet(f"c{batch}-{i}", PetKind.BIRD, date(2016, 1, 1)) for i in range(1000)])
    async with grpc.aio.insecure_channel(live.addr) as channel:
        call = pb_grpc.PetStoreStub(channel).SearchPets(pb.SearchPetsRequest(types=[pb.PET_TYPE_BIRD]))  # type: ignore[no-untyped-call]
        first = await call.read()
        assert first.name.startswith("c")
        call.cancel()
    registry = live.server.metrics.registry
    await eventually(
        lambda: registry.get_sample_value("petstore_requests_in_flight", {"method": "SearchPets"}) == 0,
        timeout=20,
        interval=0.05,
        what="SearchPets no longer counted in flight",
    )
    assert len(await live.client.search(kinds=[PetKind.BIRD])) == 5000
