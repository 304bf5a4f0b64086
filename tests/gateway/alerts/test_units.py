"""Pure parts of delivery: routes, Slack errors at the edge, retries, the KV record, clicks, silences."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from chatops.v1.records_pb2 import AlertMessageRecord, ChatClaim, ChatSilence
from gateway.alerts.actions import silence_request
from gateway.alerts.failures import EVERYWHERE, Backoff, GiveUp, Retry, Stall, classify
from gateway.alerts.poster import Undeliverable
from gateway.alerts.render import SILENCE_HOURS
from gateway.alerts.routing import RouteError, channel_for, parse_routes
from gateway.alerts.stall import Stalls
from gateway.alerts.store import (
    answered,
    applied,
    claimed,
    group_ref,
    live_silence,
    replied,
    shown,
    unclaimed,
    with_silence,
)
from gateway.slack.chat import ChatError, Failure, _api, chat_error
from gateway.slack.events import ButtonClick, button_click


def test_routes_pick_the_first_match_else_default() -> None:
    routes = parse_routes(["team=payments:C0PAY", "severity=info:C0INFO"])
    assert channel_for({"team": "payments", "severity": "info"}, routes, "C0ONCALL") == "C0PAY"
    assert channel_for({"severity": "info"}, routes, "C0ONCALL") == "C0INFO"
    assert channel_for({"team": "web"}, routes, "C0ONCALL") == "C0ONCALL"


@pytest.mark.parametrize("entry", ["team", "team=payments", "=x:C1", "team=payments:"])
def test_bad_route_names_the_entry(entry: str) -> None:
    with pytest.raises(RouteError, match="SLACK_ALERT_ROUTES"):
        parse_routes([entry])


def slack_error(status: int, body: dict[str, object], headers: dict[str, str] | None = None) -> SlackApiError:
    response = AsyncSlackResponse(
        client=None,
        http_verb="POST",
        api_url="http://127.0.0.1/api/chat.postMessage",
        req_args={},
        data=body,
        headers=headers or {},
        status_code=status,
    )
    return SlackApiError("failed", response)


def test_slack_errors_are_translated_at_the_edge() -> None:
    limited = chat_error(slack_error(429, {"ok": False, "error": "ratelimited"}, {"retry-after": "7"}))
    assert (limited.failure, limited.retry_after) == (Failure.RATE_LIMITED, 7.0)
    assert chat_error(slack_error(500, {"ok": False})).failure is Failure.UNAVAILABLE
    assert chat_error(slack_error(200, {"ok": False, "error": "fatal_error"})).failure is Failure.UNAVAILABLE
    gone = chat_error(slack_error(200, {"ok": False, "error": "message_not_found"}))
    assert (gone.failure, gone.detail) == (Failure.GONE, "message_not_found")
    refused = chat_error(slack_error(200, {"ok": False, "error": "some_new_error"}))
    assert (refused.failure, refused.detail) == (Failure.REFUSED, "some_new_error")


async def test_network_faults_towards_slack_are_unavailable_not_crashes() -> None:
    async def refused() -> AsyncSlackResponse:
        raise aiohttp.ClientConnectionError("connection refused")

    with pytest.raises(ChatError) as info:
        await _api(refused())
    assert info.value.failure is Failure.UNAVAILABLE


B = Backoff(1.0, 30.0)


def test_429_waits_retry_after() -> None:
    limited = ChatError(Failure.RATE_LIMITED, "ratelimited", 7.0)
    assert classify(limited, 1, "C1", B) == Retry(7.0, "ratelimited", paced=True)


def test_chat_and_bus_faults_back_off() -> None:
    assert classify(ChatError(Failure.UNAVAILABLE, "internal_error"), 3, "C1", B) == Retry(
        4.0, "internal_error"
    )
    assert isinstance(classify(TimeoutError(), 2, "C1", B), Retry)
    assert isinstance(classify(ConnectionRefusedError(), 2, "C1", B), Retry)
    assert B.delay(1) == 1.0 and B.delay(30) == 30.0 and Backoff(0.1, 0.5).delay(4) == 0.5


def test_refusals_stall_their_channel_or_everything_never_drop() -> None:
    kicked = classify(ChatError(Failure.CHANNEL, "not_in_channel"), 1, "C1", B)
    assert kicked == Stall(
        "C1", "not_in_channel", "Slack answers not_in_channel for C1: invite the bot to the channel"
    )
    revoked = classify(ChatError(Failure.AUTH, "token_revoked"), 1, "C1", B)
    assert isinstance(revoked, Stall) and revoked.scope == EVERYWHERE and "SLACK_BOT_TOKEN" in revoked.reason
    odd = classify(ChatError(Failure.REFUSED, "something_new"), 1, "C1", B)
    assert isinstance(odd, Stall) and odd.scope == "C1"
    refused = classify(Undeliverable("no form of it is taken", "invalid_blocks"), 1, "C1", B)
    assert refused == GiveUp("invalid_blocks", "no form of it is taken")
    assert chat_error(slack_error(200, {"ok": False, "error": "token_revoked"})).failure is Failure.AUTH
    assert chat_error(slack_error(200, {"ok": False, "error": "is_archived"})).failure is Failure.CHANNEL
    assert chat_error(slack_error(200, {"ok": False, "error": "invalid_blocks"})).failure is Failure.PAYLOAD


def test_unexpected_errors_are_retried_a_few_times_then_given_up() -> None:
    assert isinstance(classify(ValueError("odd"), 1, "C1", B), Retry)
    assert isinstance(classify(ValueError("odd"), 10, "C1", B), GiveUp)


def test_record_changes_are_pure_and_show_only_live_silences() -> None:
    record = AlertMessageRecord(
        channel="C1",
        ts="1.2",
        group_key='{}:{a="b"}',
        applied_seq=3,
        replied_seq=3,
        labels={"alertname": "X"},
    )
    now = datetime(2026, 1, 1, tzinfo=UTC)
    silence = ChatSilence(user_id="U1", silence_id="s1", url="http://am/#/silences/s1")
    silence.until.FromDatetime(now + timedelta(hours=1))
    silenced = with_silence(record, silence)
    assert live_silence(silenced, now) == silence
    assert live_silence(silenced, now + timedelta(hours=2)) is None
    assert live_silence(record, now) is None and not record.HasField("silence")
    moved = replied(applied(record, (5, "n5"), 15, True, {"alertname": "Y"}), (4, "n4"), 14)
    assert (shown(moved), answered(moved), moved.applied_seq, moved.resolved, dict(moved.labels)) == (
        (5, "n5"),
        (4, "n4"),
        15,
        True,
        {"alertname": "Y"},
    )
    assert shown(record) == answered(record) == (0, "")  # a wave-1 record: any notification is newer
    claim = ChatClaim(owner="me", notification_id="n6", action="post")
    assert unclaimed(claimed(moved, claim)) == moved and claimed(None, claim).claim == claim


def test_group_ref_is_kv_safe_and_stable() -> None:
    ref = group_ref('{}/{alertname="Multi"}:{alertname="Multi"}')
    assert ref == group_ref('{}/{alertname="Multi"}:{alertname="Multi"}')
    assert ref.isalnum() and len(ref) == 40
    assert ref != group_ref('{}:{alertname="Multi"}')


def test_a_silence_click_is_parsed_at_the_edge_like_any_other() -> None:
    body = {
        "type": "block_actions",
        "user": {"id": "U1", "username": "alice"},
        "channel": {"id": "C1"},
        "message": {"ts": "123.456"},
        "container": {"type": "message", "message_ts": "123.456", "channel_id": "C1"},
        "actions": [{"action_id": "chatops_silence_4h", "value": "ref1"}],
    }
    assert button_click(body) == ButtonClick("chatops_silence_4h", "ref1", "U1", "C1", "123.456")
    assert SILENCE_HOURS["chatops_silence_4h"] == 4
    assert button_click({"user": {"id": "U1"}}) is None


def test_silence_request_matches_every_common_label_exactly() -> None:
    request = silence_request({"team": "a", "alertname": "X"}, 4, "alice")
    assert [(m.name, m.value, m.is_regex, m.is_equal) for m in request.matchers] == [
        ("alertname", "X", False, True),
        ("team", "a", False, True),
    ]
    assert request.duration.seconds == 4 * 3600
    assert "alice" in request.comment


async def test_a_stall_lets_one_probe_through_per_back_off_and_holds_only_its_scope() -> None:
    now = [100.0]
    stalls = Stalls(Backoff(2.0, 8.0), clock=lambda: now[0], wall=lambda: 1000.0 + now[0])
    assert await stalls.admit("C1") is None and stalls.problem() == ""
    kicked = stalls.failed(Stall("C1", "not_in_channel", "Slack answers not_in_channel for C1"))
    assert stalls.problem() == "alert delivery stalled for 0m00s: Slack answers not_in_channel for C1"
    assert await stalls.admit("C1", until=now[0]) is kicked  # waits until the back-off has passed
    assert await stalls.admit("C2", until=now[0]) is None  # another channel goes on
    now[0] += 2.0
    assert await stalls.admit("C1", until=now[0]) is None  # the probe
    assert await stalls.admit("C1", until=now[0]) is kicked  # the others wait for its outcome
    stalls.failed(Stall("C1", "not_in_channel", "Slack answers not_in_channel for C1"))
    assert kicked.backoff == 4.0 and kicked.next_try == now[0] + 4.0
    revoked = stalls.failed(Stall(EVERYWHERE, "token_revoked", "Slack refuses the bot's token"))
    assert await stalls.admit("C2", until=now[0]) is revoked  # the token holds every channel
    now[0] += 75.0
    assert "stalled for 1m17s" in stalls.problem() and "token" in stalls.problem()
    assert await stalls.admit("C2", until=now[0]) is None  # its probe
    stalls.cleared("C2")  # it worked: the token is fine, C1 still waits for its own fix
    assert [s.scope for s in stalls.snapshot()] == ["C1"]
    stalls.drop("C1")  # nothing waits for C1 any more
    assert stalls.problem() == ""
