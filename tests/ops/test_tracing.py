"""Ops' own spans: the caller's trace continues, its sampling decision holds, children nest, batches go."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from ops.otlp import spans_from_protobuf, spans_to_protobuf
from ops.spans import STATUS_ERROR, Span, SpanEvent
from ops.tracestore.store import SpanStore
from ops.tracing import Recorder, StoreSink, Tracer, client_span, parse_traceparent, traceparent

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER = "00f067aa0ba902b7"


class Collect:
    def __init__(self) -> None:
        self.batches: list[list[Span]] = []

    async def write(self, spans: Sequence[Span]) -> None:
        self.batches.append(list(spans))


class Broken:
    async def write(self, spans: Sequence[Span]) -> None:
        raise ConnectionError("collector down")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"00-{TRACE}-{CALLER}-01", (TRACE, CALLER, True)),
        (f"00-{TRACE.upper()}-{CALLER}-00", (TRACE, CALLER, False)),
        (f" 01-{TRACE}-{CALLER}-03-future ", (TRACE, CALLER, True)),  # a later version may add fields
        (f"00-{TRACE}-{CALLER}-01-extra", None),  # version 00 has exactly four
        (f"ff-{TRACE}-{CALLER}-01", None),
        (f"00-{'0' * 32}-{CALLER}-01", None),
        (f"00-{TRACE}-{'0' * 16}-01", None),
        (f"00-{TRACE[:-1]}g-{CALLER}-01", None),
        ("", None),
        ("garbage", None),
    ],
)
def test_traceparent_parsing(text: str, expected: tuple[str, str, bool] | None) -> None:
    parent = parse_traceparent(text)
    assert (None if parent is None else (parent.trace_id, parent.span_id, parent.sampled)) == expected


async def test_a_command_continues_the_callers_trace_and_its_backend_calls_nest() -> None:
    sink = Collect()
    recorder = Recorder("chatops-ops", sink)
    assert traceparent() == ""  # outside a command nothing is passed on
    with Tracer(recorder).command("chatops sampling.get", f"00-{TRACE}-{CALLER}-01") as span:
        span.set("chatops.actor", "slack:U1")
        with client_span("petstore GetSampler") as child:
            assert child is not None
            assert traceparent() == f"00-{TRACE}-{child.span_id}-01"
        assert traceparent() == f"00-{TRACE}-{span.span_id}-01"
    assert traceparent() == ""
    await recorder.flush()
    (batch,) = sink.batches
    inner, outer = batch
    assert (outer.trace_id, outer.parent_span_id, outer.service) == (TRACE, CALLER, "chatops-ops")
    assert (inner.trace_id, inner.parent_span_id, inner.name) == (TRACE, outer.span_id, "petstore GetSampler")
    assert dict(outer.attributes) == {"chatops.actor": "slack:U1"} and outer.status_code == 0
    assert outer.start_ns <= inner.start_ns <= inner.end_ns <= outer.end_ns


async def test_an_unsampled_caller_is_not_recorded_but_its_decision_is_passed_on() -> None:
    sink = Collect()
    recorder = Recorder("chatops-ops", sink)
    with Tracer(recorder).command("chatops version.get", f"00-{TRACE}-{CALLER}-00") as span:
        assert traceparent() == f"00-{TRACE}-{span.span_id}-00"
    with Tracer(Recorder("nowhere")).command("chatops version.get", f"00-{TRACE}-{CALLER}-01"):
        assert traceparent().endswith("-01")  # not recording here does not unsample it for backends
    await recorder.flush()
    assert sink.batches == []


async def test_no_traceparent_starts_a_sampled_trace_and_failures_are_errors() -> None:
    sink = Collect()
    recorder = Recorder("chatops-ops", sink)
    with pytest.raises(TimeoutError), Tracer(recorder).command("chatops traces.list", "bogus") as span:
        span.fail("traces backend failed")
        with client_span("Jaeger GET /api/v3/traces"):
            raise TimeoutError("no answer")
    await recorder.flush()
    child, root = sink.batches[0]
    assert len(root.trace_id) == 32 and root.parent_span_id == ""
    assert (root.status_code, root.status_message) == (STATUS_ERROR, "traces backend failed")
    assert (child.status_code, child.status_message) == (STATUS_ERROR, "TimeoutError: no answer")


async def test_the_recorder_is_bounded_and_counts_what_it_loses() -> None:
    recorder = Recorder("chatops-ops", Broken(), max_pending=3)
    for n in range(5):
        with Tracer(recorder).command(f"chatops c{n}", ""):
            pass
    assert recorder.pending() == 3 and recorder.dropped == 2
    await recorder.flush()  # the sink fails: that batch is lost, counted, and nothing raises
    assert recorder.pending() == 0 and recorder.dropped == 5


async def test_spans_reach_the_local_store(tmp_path: Path) -> None:
    store = SpanStore(tmp_path / "traces.sqlite3")
    recorder = Recorder("chatops-ops", StoreSink(store))
    async with recorder.flushing(interval=60):
        with Tracer(recorder).command("chatops sampling.get", f"00-{TRACE}-{CALLER}-01"):
            pass
    found = store.get(TRACE)  # the last batch went on the way out
    assert found is not None and [s.name for s in found.spans] == ["chatops sampling.get"]
    store.close()


def test_otlp_encoding_reads_back_as_it_was_written() -> None:
    spans = [
        Span(TRACE, CALLER, "", "x", "root", 10, 30, STATUS_ERROR, "bad", (("k", "v"),)),
        Span(
            TRACE, "1" * 16, CALLER, "x", "child", 12, 20, 0, "", (), (SpanEvent(15, "note", (("a", "1"),)),)
        ),
    ]
    back = spans_from_protobuf(spans_to_protobuf(spans, "chatops-ops"))
    assert [s.service for s in back] == ["chatops-ops", "chatops-ops"]
    assert [s.__class__(**{**vars(s), "service": "x"}) for s in back] == spans
