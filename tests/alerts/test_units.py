"""Pure parts of delivery: routes, Slack errors at the edge, retries, the KV record, clicks, silences."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from chatops.v1.records_pb2 import AlertMessageRecord, ChatSilence
from gateway.alerts.actions import silence_request
from gateway.alerts.failures import GiveUp, Retry, backoff, classify
from gateway.alerts.render import SILENCE_HOURS
from gateway.alerts.routing import RouteError, channel_for, parse_routes
from gateway.alerts.store import applied, group_ref, live_silence, replied, with_silence
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
    refused = chat_error(slack_error(200, {"ok": False, "error": "channel_not_found"}))
    assert (refused.failure, refused.detail) == (Failure.REFUSED, "channel_not_found")


async def test_network_faults_towards_slack_are_unavailable_not_crashes() -> None:
    async def refused() -> AsyncSlackResponse:
        raise aiohttp.ClientConnectionError("connection refused")

    with pytest.raises(ChatError) as info:
        await _api(refused())
    assert info.value.failure is Failure.UNAVAILABLE


def test_429_waits_retry_after() -> None:
    assert classify(ChatError(Failure.RATE_LIMITED, "ratelimited", 7.0), 1) == Retry(7.0, "ratelimited")


def test_chat_and_bus_faults_back_off() -> None:
    assert classify(ChatError(Failure.UNAVAILABLE, "internal_error"), 3) == Retry(4.0, "internal_error")
    assert isinstance(classify(TimeoutError(), 2), Retry)
    assert isinstance(classify(ConnectionRefusedError(), 2), Retry)
    assert backoff(1) == 1.0 and backoff(30) == 30.0


def test_refusals_give_up() -> None:
    assert classify(ChatError(Failure.REFUSED, "channel_not_found"), 1) == GiveUp("channel_not_found")


def test_unexpected_errors_are_retried_a_few_times_then_given_up() -> None:
    assert isinstance(classify(ValueError("odd"), 1), Retry)
    assert isinstance(classify(ValueError("odd"), 10), GiveUp)


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
    moved = replied(applied(record, 5, True, {"alertname": "Y"}), 4)
    assert (moved.applied_seq, moved.replied_seq, moved.resolved, dict(moved.labels)) == (
        5,
        4,
        True,
        {"alertname": "Y"},
    )
    assert applied(moved, 2, False, {}).applied_seq == 5  # never goes back


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
