"""The sampler spec parser and the sampler's decisions, without a server."""

from __future__ import annotations

import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace.sampling import Decision
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from petstore.sampler import (
    FORCE_TRACE,
    KIND,
    KINDS,
    TYPE,
    WRITTEN,
    PetstoreSampler,
    SamplerSpec,
    SamplerSpecError,
)


@pytest.mark.parametrize(
    ("text", "spec"),
    [
        ("never", SamplerSpec("never")),
        ("ALWAYS", SamplerSpec("always")),
        (" float:0.1 ", SamplerSpec("float", 0.1)),
        ("float:1", SamplerSpec("float", 1.0)),
    ],
)
def test_parse(text: str, spec: SamplerSpec) -> None:
    assert SamplerSpec.parse(text) == spec


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("sometimes", "type"),
        ("", "type"),
        ("float", "float_value"),
        ("float:0", "float_value"),
        ("float:1.01", "float_value"),
        ("float:-1", "float_value"),
        ("float:nan", "float_value"),
        ("float:abc", "float_value"),
        ("never:0.5", "float_value"),
    ],
)
def test_parse_rejects_with_the_field(text: str, field: str) -> None:
    with pytest.raises(SamplerSpecError) as info:
        SamplerSpec.parse(text)
    assert info.value.field == field


@given(st.floats(min_value=0.0, max_value=1.0, exclude_min=True))
def test_every_rate_in_range_round_trips_through_text(rate: float) -> None:
    spec = SamplerSpec("float", rate)
    assert SamplerSpec.parse(f"float:{rate!r}") == spec


@given(st.floats().filter(lambda r: not 0.0 < r <= 1.0))
def test_every_rate_out_of_range_is_refused(rate: float) -> None:
    with pytest.raises(SamplerSpecError):
        SamplerSpec("float", rate)


def _decide(sampler: PetstoreSampler, ctx: otel_context.Context | None = None, trace_id: int = 1) -> bool:
    return sampler.should_sample(ctx, trace_id, "x").decision == Decision.RECORD_AND_SAMPLE


def _remote_parent(sampled: bool) -> otel_context.Context:
    flags = TraceFlags(TraceFlags.SAMPLED if sampled else TraceFlags.DEFAULT)
    span = NonRecordingSpan(SpanContext(7, 9, is_remote=True, trace_flags=flags))
    return trace.set_span_in_context(span)


def test_decisions_follow_parent_force_and_child() -> None:
    never = PetstoreSampler(SamplerSpec("never"))
    assert not _decide(never)
    assert _decide(never, _remote_parent(sampled=True))
    assert not _decide(never, _remote_parent(sampled=False))
    assert _decide(never, otel_context.set_value(FORCE_TRACE, True))
    always = PetstoreSampler(SamplerSpec("always"))
    assert _decide(always) and _decide(always, _remote_parent(sampled=False))


def test_a_local_unsampled_parent_keeps_its_children_unsampled() -> None:
    sampler = PetstoreSampler(SamplerSpec("always"))
    local = NonRecordingSpan(SpanContext(7, 9, is_remote=False, trace_flags=TraceFlags(0)))
    assert not _decide(sampler, trace.set_span_in_context(local))


def test_switch_returns_the_previous_and_is_safe_across_threads() -> None:
    sampler = PetstoreSampler(SamplerSpec("never"))
    assert sampler.switch(SamplerSpec("float", 0.5)) == SamplerSpec("never")
    specs = [SamplerSpec("always"), SamplerSpec("never"), SamplerSpec("float", 0.25)]
    errors: list[BaseException] = []

    def churn(n: int) -> None:
        try:
            for i in range(2000):
                sampler.switch(specs[(i + n) % 3])
                _decide(sampler, trace_id=i + 1)
        except BaseException as exc:  # collected, so the main thread can fail the test
            errors.append(exc)

    threads = [threading.Thread(target=churn, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sampler.spec in specs
    assert str(SamplerSpec("float", 0.25)) == "float:0.25"


@pytest.mark.parametrize("written", WRITTEN)
def test_every_kind_of_the_enum_parses_and_samples(written: str) -> None:
    spec = SamplerSpec.parse(written.replace("RATE", "0.5"))
    assert spec.kind in KINDS and TYPE[spec.kind] in KIND
    sampler = PetstoreSampler(spec)  # a kind without a child sampler raises KeyError here
    assert str(sampler.spec) == written.replace("RATE", "0.5")
