"""The seed's sampler: follow a sampled parent or a caller's `trace` request, else a switchable child."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import cast

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_OFF,
    ALWAYS_ON,
    Decision,
    Sampler,
    SamplingResult,
    TraceIdRatioBased,
)
from opentelemetry.trace import Link, SpanKind, TraceState
from opentelemetry.util.types import Attributes

from chatops.samplers import RATED, forms, kind_names
from petstore.v1 import petstore_pb2 as pb

KIND = kind_names(pb.SamplerType)  # petstore.v1.SamplerType -> kind: never, always, float
TYPE = {kind: cast(pb.SamplerType, value) for value, kind in KIND.items()}
KINDS = tuple(KIND.values())
WRITTEN = forms(KINDS, ":RATE")  # as PETSTORE_SAMPLER and the CLI take them: never, always, float:RATE

# Set in a request's context when the caller sent the gRPC metadata key `trace`.
FORCE_TRACE = otel_context.create_key("petstore.force_trace")


class SamplerSpecError(ValueError):
    """A sampler description that cannot be used; `field` says which part is wrong."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class SamplerSpec:
    """Which child sampler runs: never, always, or float with a rate in (0, 1]."""

    kind: str
    rate: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise SamplerSpecError("type", f"must be one of {', '.join(KINDS)}, not {self.kind!r}")
        if self.kind == RATED:
            if not 0.0 < self.rate <= 1.0:  # also rejects NaN
                raise SamplerSpecError("float_value", f"must be in (0, 1], not {self.rate}")
        elif self.rate != 0.0:
            raise SamplerSpecError("float_value", f"only a float sampler takes a rate, not {self.kind}")

    @classmethod
    def parse(cls, text: str) -> SamplerSpec:
        """`never`, `always` or `float:0.25` (as in PETSTORE_SAMPLER)."""
        kind, sep, rate = text.strip().lower().partition(":")
        if kind == RATED:
            if not sep:
                raise SamplerSpecError("float_value", "write the rate as float:0.1")
            try:
                value = float(rate)
            except ValueError:
                raise SamplerSpecError("float_value", f"{rate!r} is not a number") from None
            return cls(kind, value)
        if sep:
            raise SamplerSpecError("float_value", f"only a float sampler takes a rate, not {kind}")
        if kind in KINDS:
            return cls(kind)
        raise SamplerSpecError("type", f"must be one of {', '.join(WRITTEN)}, not {text!r}")

    def __str__(self) -> str:
        return f"{self.kind}:{self.rate:g}" if self.kind == RATED else self.kind


# What each kind runs, from its rate; a test checks every kind of the enum has one.
CHILDREN: dict[str, Callable[[float], Sampler]] = {
    "never": lambda _: ALWAYS_OFF,
    "always": lambda _: ALWAYS_ON,
    RATED: TraceIdRatioBased,
}


def _child_for(spec: SamplerSpec) -> Sampler:
    return CHILDREN[spec.kind](spec.rate)


class PetstoreSampler(Sampler):
    """Sample if the parent is sampled or the caller asked; otherwise ask the switchable child."""

    def __init__(self, spec: SamplerSpec) -> None:
        self._lock = threading.Lock()
        self._spec = spec
        self._child = _child_for(spec)

    @property
    def spec(self) -> SamplerSpec:
        with self._lock:
            return self._spec

    def switch(self, spec: SamplerSpec) -> SamplerSpec:
        """Use `spec` from now on; returns the one it replaced."""
        child = _child_for(spec)
        with self._lock:
            previous, self._spec, self._child = self._spec, spec, child
        return previous

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        parent = trace.get_current_span(parent_context).get_span_context()
        parent_state = parent.trace_state if parent.is_valid else None
        # A local parent already decided for its whole trace; its children follow it either way.
        if parent.is_valid and (parent.trace_flags.sampled or not parent.is_remote):
            if parent.trace_flags.sampled:
                return SamplingResult(Decision.RECORD_AND_SAMPLE, attributes, parent_state)
            return SamplingResult(Decision.DROP, None, parent_state)
        if otel_context.get_value(FORCE_TRACE, parent_context):
            return SamplingResult(Decision.RECORD_AND_SAMPLE, attributes, parent_state)
        with self._lock:
            child = self._child
        return child.should_sample(parent_context, trace_id, name, kind, attributes, links, trace_state)

    def get_description(self) -> str:
        return f"PetstoreSampler{{{self.spec}}}"
