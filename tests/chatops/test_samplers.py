"""Sampler kinds come from the SamplerType enums: one table, read by name."""

from __future__ import annotations

from chatops import samplers
from chatops.v1 import sampling_pb2
from petstore.v1 import petstore_pb2


def test_kinds_are_the_enum_values_by_name() -> None:
    assert samplers.KIND == {
        sampling_pb2.SAMPLER_TYPE_NEVER: "never",
        sampling_pb2.SAMPLER_TYPE_ALWAYS: "always",
        sampling_pb2.SAMPLER_TYPE_FLOAT: "float",
    }
    assert {kind: value for value, kind in samplers.KIND.items()} == samplers.TYPE
    assert samplers.RATED in samplers.KINDS


def test_chatops_and_the_petstore_name_the_same_kinds() -> None:
    # ops turns one enum into the other by kind, so a kind missing from either could not be sent.
    assert samplers.kind_names(petstore_pb2.SamplerType) == samplers.KIND


def test_kinds_are_written_and_listed_for_people() -> None:
    assert samplers.forms(samplers.KINDS, " <rate>") == ("never", "always", "float <rate>")
    assert samplers.listed(("never", "always", "float")) == "never, always, or float"
    assert samplers.listed(("a", "b"), " or ") == "a or b"
    assert samplers.listed(("a",)) == "a"
