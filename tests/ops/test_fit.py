"""Replies trimmed to fit the bus: a prefix of each list is kept and `omitted` counts the rest."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chatops import codec
from chatops.v1 import traces_pb2, version_pb2
from ops.fit import ReplyTooBig, fit


def logs_reply(sizes: list[int]) -> traces_pb2.ShowLogsReply:
    return traces_pb2.ShowLogsReply(
        trace_id="ab" * 16,
        logs=[
            traces_pb2.LogEntry(span_id=f"{i:016x}", message="m" * size, attributes={"i": str(i)})
            for i, size in enumerate(sizes)
        ],
    )


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(min_value=0, max_value=5000), min_size=1, max_size=200),
    st.integers(min_value=300, max_value=60_000),
    st.booleans(),
)
def test_a_trimmed_reply_fits_keeps_a_prefix_and_counts_the_rest(sizes, limit, as_json) -> None:
    reply = logs_reply(sizes)
    data = fit(reply, limit, lambda m: codec.encode(m, as_json=as_json))
    assert len(data) <= limit
    back = codec.decode(data, traces_pb2.ShowLogsReply, as_json=as_json)
    kept = len(back.logs)
    assert list(back.logs) == list(reply.logs)[:kept]
    assert back.omitted == len(sizes) - kept
    assert back.trace_id == reply.trace_id


def test_a_reply_that_fits_is_sent_as_it_is() -> None:
    reply = logs_reply([10, 10])
    assert fit(reply, 10_000, codec.encode) == codec.encode(reply)


def test_most_of_a_big_reply_survives() -> None:
    # 2,000 entries of ~1 KB against a 1 MiB bus: about a thousand are kept, not a handful.
    reply = logs_reply([1000] * 2000)
    back = traces_pb2.ShowLogsReply.FromString(fit(reply, 1 << 20, codec.encode))
    assert 900 < len(back.logs) < 1100 and back.omitted == 2000 - len(back.logs)


def test_nested_lists_are_kept_whole_and_a_reply_without_room_is_refused() -> None:
    reply = version_pb2.GetVersionReply(
        versions=[
            version_pb2.DeployedVersion(version=f"v{i}", instance_names=["x" * 100] * 5) for i in range(50)
        ]
    )
    back = version_pb2.GetVersionReply.FromString(fit(reply, 2000, codec.encode))
    assert all(len(v.instance_names) == 5 for v in back.versions) and back.omitted == 50 - len(back.versions)
    huge = traces_pb2.ShowTraceReply(trace_id="x" * 5000, operations=["a"] * 10)
    with pytest.raises(ReplyTooBig, match="even without its lists"):
        fit(huge, 1000, codec.encode)
