"""Sampler kinds by name, read off the SamplerType enums of the .proto files: the enum is the one table.

A kind's name is its enum value's name without `SAMPLER_TYPE_`, in lower case (SAMPLER_TYPE_FLOAT is
`float`), so a kind added to the .proto is parsed, sent and shown by that name everywhere; chatops.v1
and petstore.v1 name the same kinds. Only `float` takes a rate.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from google.protobuf.internal.enum_type_wrapper import EnumTypeWrapper

from chatops.v1 import sampling_pb2

PREFIX = "SAMPLER_TYPE_"
RATED = "float"


def kind_names(enum: EnumTypeWrapper) -> dict[int, str]:
    """{value: kind} of a SamplerType enum, without SAMPLER_TYPE_UNSPECIFIED (0)."""
    return {value: name.removeprefix(PREFIX).lower() for name, value in enum.items() if value}


KIND = kind_names(sampling_pb2.SamplerType)  # chatops.v1.SamplerType -> kind
TYPE = {kind: cast(sampling_pb2.SamplerType, value) for value, kind in KIND.items()}
KINDS = tuple(KIND.values())


def forms(kinds: Sequence[str], rate: str) -> tuple[str, ...]:
    """The kinds as written, the rated one with `rate` after it: ("never", "always", "float <rate>")."""
    return tuple(kind + rate if kind == RATED else kind for kind in kinds)


def listed(words: Sequence[str], last: str = ", or ") -> str:
    """`never, always, or float`."""
    return f"{', '.join(words[:-1])}{last}{words[-1]}" if len(words) > 1 else "".join(words)
