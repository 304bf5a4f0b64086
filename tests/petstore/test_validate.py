"""Pure request validation: good requests become values, bad ones name their field."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from petstore import validate
from petstore.errors import InvalidArgument
from petstore.model import Pet, PetKind, SearchFilter
from petstore.sampler import SamplerSpec
from petstore.v1 import petstore_pb2 as pb

D = pb.Date(year=2019, month=4, day=1)


def test_add_request_becomes_pets() -> None:
    req = pb.AddPetsRequest(pets=[pb.Pet(name="Rex", type=pb.PET_TYPE_CANINE, birthday=D)])
    assert validate.add_request(req) == [Pet("Rex", PetKind.CANINE, date(2019, 4, 1))]


def test_add_refuses_an_id() -> None:
    req = pb.AddPetsRequest(pets=[pb.Pet(id="x", name="Rex", type=pb.PET_TYPE_CANINE, birthday=D)])
    with pytest.raises(InvalidArgument) as info:
        validate.add_request(req)
    assert info.value.field == "pets[0].id"


def test_too_many_pets_is_refused() -> None:
    pet = pb.Pet(name="Rex", type=pb.PET_TYPE_CANINE, birthday=D)
    with pytest.raises(InvalidArgument, match=r"^pets: 1001 given"):
        validate.add_request(pb.AddPetsRequest(pets=[pet] * 1001))


def test_search_request_becomes_a_filter() -> None:
    req = pb.SearchPetsRequest(names=["Rex"], types=[pb.PET_TYPE_BIRD])
    req.birthday_range.start.CopyFrom(D)
    req.birthday_range.end.CopyFrom(pb.Date(year=2020, month=1, day=1))
    assert validate.search_request(req) == SearchFilter(
        frozenset({"Rex"}), frozenset({PetKind.BIRD}), date(2019, 4, 1), date(2020, 1, 1)
    )


def test_half_a_birthday_range_names_the_missing_end() -> None:
    req = pb.SearchPetsRequest()
    req.birthday_range.start.CopyFrom(D)
    with pytest.raises(InvalidArgument) as info:
        validate.search_request(req)
    assert info.value.field == "birthday_range.end"


def test_sampler_request_ignores_a_rate_on_never_and_always() -> None:
    never = pb.ChangeSamplerRequest(sampler=pb.Sampler(type=pb.SAMPLER_TYPE_NEVER, float_value=0.3))
    assert validate.sampler_request(never) == SamplerSpec("never")
    flt = pb.ChangeSamplerRequest(sampler=pb.Sampler(type=pb.SAMPLER_TYPE_FLOAT, float_value=0.3))
    assert validate.sampler_request(flt) == SamplerSpec("float", 0.3)


@given(st.text(min_size=0, max_size=150))
def test_names_are_accepted_exactly_when_non_blank_and_short(name: str) -> None:
    req = pb.AddPetsRequest(pets=[pb.Pet(name=name, type=pb.PET_TYPE_FELINE, birthday=D)])
    ok = bool(name.strip()) and len(name) <= 100
    if ok:
        assert validate.add_request(req)[0].name == name
    else:
        with pytest.raises(InvalidArgument) as info:
            validate.add_request(req)
        assert info.value.field == "pets[0].name"


@given(st.integers(-5, 10000), st.integers(-1, 14), st.integers(-1, 33))
def test_dates_are_accepted_exactly_when_real(year: int, month: int, day: int) -> None:
    try:
        expected: date | None = date(year, month, day)
    except ValueError:
        expected = None
    pet = pb.Pet(name="a", type=pb.PET_TYPE_BIRD, birthday=pb.Date(year=year, month=month, day=day))
    if expected is not None:
        assert validate.add_request(pb.AddPetsRequest(pets=[pet]))[0].birthday == expected
    else:
        with pytest.raises(InvalidArgument, match=r"^pets\[0\]\.birthday: "):
            validate.add_request(pb.AddPetsRequest(pets=[pet]))
