"""The SQL search of the trace store agrees with the pure `matches` on random traces."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from ops.spans import Span, Trace, TraceQuery, matches
from ops.tracestore.store import SpanStore

S = 10**9
NOW = 1_800_000_000 * S

span_st = st.builds(
    lambda t, k, start, dur, svc, name, err, attr: Span(
        trace_id=f"{t:032x}",
        span_id=f"{k + 1:016x}",
        parent_span_id="" if k == 0 else f"{1:016x}",
        service=svc,
        name=name,
        start_ns=NOW - start * S,
        end_ns=NOW - start * S + dur * S // 10,
        status_code=2 if err else 0,
        attributes=(("m", attr),),
    ),
    st.integers(0, 6),
    st.integers(0, 3),
    st.integers(0, 100),
    st.integers(0, 30),
    st.sampled_from(["petstore", "other"]),
    st.sampled_from(["a", "b"]),
    st.booleans(),
    st.sampled_from(["x", "y"]),
)

query_st = st.builds(
    lambda start, width, svc, op, err, attr, min_d, limit: TraceQuery(
        service=svc,
        start_ns=NOW - start * S,
        end_ns=NOW - start * S + width * S,
        limit=limit,
        operation=op,
        attributes=(("m", attr),) if attr else (),
        errors_only=err,
        min_duration_ns=min_d * S // 10,
    ),
    st.integers(0, 100),
    st.integers(1, 120),
    st.sampled_from(["", "petstore", "other"]),
    st.sampled_from(["", "a", "b"]),
    st.booleans(),
    st.sampled_from(["", "x", "y"]),
    st.integers(0, 20),
    st.sampled_from([1, 3, 100]),  # 1 and 3: the newest only, found across the store's time slices
)


@settings(max_examples=60, deadline=None)
@given(st.lists(span_st, max_size=25, unique_by=lambda s: (s.trace_id, s.span_id)), query_st)
def test_sql_search_equals_pure_matching(spans: list[Span], query: TraceQuery) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = SpanStore(Path(tmp) / "t.db", max_age=10**6)
        try:
            store.add(spans, now_ns=NOW)
            by_id: dict[str, list[Span]] = {}
            for span in spans:
                by_id.setdefault(span.trace_id, []).append(span)
            expected = [Trace.of(tid, ss) for tid, ss in by_id.items()]
            want = {t.trace_id: t.start_ns for t in expected if matches(t, query)}
            got = store.search(query)
            assert len(got) == min(query.limit, len(want))
            assert {t.trace_id for t in got} <= set(want)
            starts = [t.start_ns for t in got]
            assert starts == sorted(starts, reverse=True)
            left_out = [start for tid, start in want.items() if tid not in {t.trace_id for t in got}]
            assert all(start <= min(starts) for start in left_out)  # the newest ones were kept
        finally:
            store.close()
