"""The workspace model, limits, rate buckets and fault switches (pure, no servers)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from slackemu.faults import Fault, FaultBook
from slackemu.limits import ChannelRateLimit, LimitError, TokenBucket, check_blocks, truncate_text
from slackemu.state import NotFound, TsClock, default_workspace


def test_default_workspace_has_the_demo_people_and_channels() -> None:
    ws = default_workspace()
    snap = ws.snapshot()
    assert {u["name"] for u in snap["users"]} == {"chatops", "alice", "bob"}
    assert {c["name"] for c in snap["channels"]} == {"oncall", "general"}
    assert ws.channel("#oncall") == ws.channel("oncall")
    with pytest.raises(ValueError):
        ws.add_channel("oncall")
    with pytest.raises(ValueError):
        ws.add_user("alice")


def test_edits_threads_reactions_and_errors() -> None:
    ws = default_workspace()
    oncall = ws.channel("oncall").id
    alice = ws.user_by_name("alice").id
    first = ws.post(oncall, ws.bot_user_id, "v1")
    ws.post(oncall, alice, "a reply", thread_ts=first.ts)
    edited = ws.update(oncall, first.ts, text="v2", blocks=None)
    again = ws.update(oncall, first.ts, text="v3", blocks=[{"type": "divider"}])
    assert [e.text for e in again.history] == ["v1", "v2"]
    assert edited.edited_ts is not None and again.edited_ts is not None
    assert edited.edited_ts < again.edited_ts
    assert ws.reply_counts(oncall) == {first.ts: 1}
    ws.react(oncall, first.ts, "eyes", alice, add=True)
    with pytest.raises(NotFound) as twice:
        ws.react(oncall, first.ts, "eyes", alice, add=True)
    assert twice.value.error == "already_reacted"
    with pytest.raises(NotFound) as none:
        ws.react(oncall, first.ts, "fire", alice, add=False)
    assert none.value.error == "no_reaction"
    with pytest.raises(NotFound) as orphan:
        ws.post(oncall, alice, "x", thread_ts="1.000001")
    assert orphan.value.error == "message_not_found"
    with pytest.raises(NotFound) as nochan:
        ws.channel("nope")
    assert nochan.value.error == "channel_not_found"


def test_posting_to_a_user_id_lands_in_the_dm() -> None:
    ws = default_workspace()
    bob = ws.user_by_name("bob")
    assert ws.channel(bob.id) == ws.open_im(bob.id)
    assert ws.open_im(bob.id).is_im


@given(st.lists(st.floats(min_value=0, max_value=2e9), min_size=1, max_size=50))
def test_ts_is_strictly_increasing_even_when_the_clock_is_not(times: list[float]) -> None:
    it = iter(times)
    clock = TsClock(lambda: next(it))
    stamps = [clock.next() for _ in times]
    as_micros = [int(s.replace(".", "")) for s in stamps]
    assert as_micros == sorted(set(as_micros))
    assert all(len(s.split(".")[1]) == 6 for s in stamps)


def test_limits() -> None:
    assert len(truncate_text("x" * 40_001)) == 40_000
    check_blocks([{"type": "section", "text": {"type": "mrkdwn", "text": "y" * 3000}}])
    for bad in (
        [{"type": "divider"}] * 51,
        [{"type": "section", "text": {"type": "mrkdwn", "text": "y" * 3001}}],
        [{"text": "no type"}],
        [{"type": "section"}],
    ):
        with pytest.raises(LimitError) as err:
            check_blocks(bad)
        assert err.value.error == "invalid_blocks"


def test_token_bucket_allows_a_burst_then_about_one_a_second() -> None:
    limit = ChannelRateLimit(rate=1.0, burst=3)
    assert [limit.retry_after("C1", 100.0) for _ in range(3)] == [0, 0, 0]
    assert limit.retry_after("C1", 100.0) == 1
    assert limit.retry_after("C2", 100.0) == 0  # buckets are per channel
    assert limit.retry_after("C1", 101.5) == 0
    assert ChannelRateLimit(rate=0).retry_after("C1", 0.0) == 0  # rate 0 switches it off


@given(st.lists(st.floats(min_value=0, max_value=5), min_size=1, max_size=60))
def test_bucket_never_lets_through_more_than_burst_plus_rate_times_time(gaps: list[float]) -> None:
    bucket, now, allowed = TokenBucket(rate=1.0, burst=4), 0.0, 0
    for gap in gaps:
        now += gap
        allowed += bucket.take(now) == 0
    assert allowed <= 4 + now * 1.0 + 1e-9


def test_faults_count_down_expire_and_match_methods() -> None:
    book = FaultBook()
    book.add(Fault.parse({"kind": "server_error", "methods": ["chat.postMessage"], "count": 2}, 0.0))
    book.add(Fault.parse({"kind": "ratelimited", "seconds": 5}, 0.0))
    assert book.take("server_error", "auth.test", 1.0) is None
    assert book.take("server_error", "chat.postMessage", 1.0) is not None
    assert book.take("server_error", "chat.postMessage", 1.0) is not None
    assert book.take("server_error", "chat.postMessage", 1.0) is None
    assert book.take("ratelimited", "anything", 4.9) is not None
    assert book.take("ratelimited", "anything", 5.0) is None
    assert book.to_json(6.0) == []
    for bad in (
        {"kind": "explode"},
        {"kind": "server_error", "count": 0},
        {"kind": "server_error", "seconds": "soon"},
    ):
        with pytest.raises(ValueError):
            Fault.parse(bad, 0.0)
