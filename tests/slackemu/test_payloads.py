"""Payloads the emulator builds have Slack's fields (checked against recorded Slack payloads)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from slackemu import payloads
from slackemu.state import default_workspace

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "slack"
# Fields only Enterprise Grid sends, and `authed_users`, which Slack replaced by `authorizations`.
NOT_EMULATED = {"enterprise_id", "enterprise_name", "authed_users"}


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return data


def missing(expected: dict[str, Any], actual: dict[str, Any], path: str = "") -> list[str]:
    """Keys of `expected` (recursively through objects and first list items) absent in `actual`."""
    gaps = []
    for key, value in expected.items():
        if key in NOT_EMULATED:
            continue
        if key not in actual:
            gaps.append(path + key)
        elif isinstance(value, dict) and isinstance(actual[key], dict):
            gaps += missing(value, actual[key], f"{path}{key}.")
        elif isinstance(value, list) and value and isinstance(value[0], dict) and actual[key]:
            gaps += missing(value[0], actual[key][0], f"{path}{key}[0].")
    return gaps


def test_app_mention_event_callback_has_slack_fields() -> None:
    ws = default_workspace()
    alice, oncall = ws.user_by_name("alice"), ws.channel("oncall")
    msg = ws.post(oncall.id, alice.id, f"<@{ws.bot_user_id}> Hi there!")
    event = payloads.event_for_message(ws, oncall, msg)
    assert event is not None and event["type"] == "app_mention"
    body = payloads.event_callback(ws, event, "verification_token")
    assert missing(fixture("app_mention_event_callback.json"), body) == []
    assert body["authorizations"][0]["user_id"] == ws.bot_user_id
    assert body["event"]["channel"] == oncall.id and body["event"]["user"] == alice.id


def test_block_actions_has_slack_fields() -> None:
    ws = default_workspace()
    alice, oncall = ws.user_by_name("alice"), ws.channel("oncall")
    blocks = [
        {
            "type": "actions",
            "block_id": "b",
            "elements": [
                {
                    "type": "button",
                    "action_id": "a",
                    "value": "click_me_123",
                    "text": {"type": "plain_text", "text": "Button", "emoji": True},
                }
            ],
        }
    ]
    msg = ws.post(oncall.id, ws.bot_user_id, "pick", blocks=blocks)
    body = payloads.block_actions(
        ws, alice, oncall, msg, "a", None, response_url="http://127.0.0.1:1/actions/x", token="t"
    )
    assert missing(fixture("block_actions.json"), body) == []
    action = body["actions"][0]
    assert (action["action_id"], action["block_id"], action["value"]) == ("a", "b", "click_me_123")
    assert body["message"]["ts"] == msg.ts and body["container"]["message_ts"] == msg.ts


def test_button_in_a_section_accessory_and_value_override() -> None:
    ws = default_workspace()
    oncall = ws.channel("oncall")
    blocks = [
        {
            "type": "section",
            "block_id": "s1",
            "text": {"type": "mrkdwn", "text": "x"},
            "accessory": {
                "type": "button",
                "action_id": "ack",
                "value": "1",
                "text": {"type": "plain_text", "text": "Ack"},
            },
        }
    ]
    msg = ws.post(oncall.id, ws.bot_user_id, "x", blocks=blocks)
    body = payloads.block_actions(
        ws, ws.user_by_name("bob"), oncall, msg, "ack", "2", response_url="u", token="t"
    )
    assert body["actions"][0]["block_id"] == "s1" and body["actions"][0]["value"] == "2"
    with pytest.raises(KeyError):
        payloads.find_button(msg, "nope")


def test_which_messages_become_events() -> None:
    ws = default_workspace()
    alice = ws.user_by_name("alice")
    oncall = ws.channel("oncall")
    plain = ws.post(oncall.id, alice.id, "no mention here")
    assert payloads.event_for_message(ws, oncall, plain) is None
    other = ws.post(oncall.id, alice.id, f"<@{ws.user_by_name('bob').id}> hi")
    assert payloads.event_for_message(ws, oncall, other) is None
    dm = ws.open_im(alice.id)
    event = payloads.event_for_message(ws, dm, ws.post(dm.id, alice.id, "hi"))
    assert event is not None and event["type"] == "message" and event["channel_type"] == "im"
    parent = ws.post(oncall.id, alice.id, "parent")
    reply = ws.post(oncall.id, alice.id, f"<@{ws.bot_user_id}> in thread", thread_ts=parent.ts)
    threaded = payloads.event_for_message(ws, oncall, reply)
    assert threaded is not None and threaded["thread_ts"] == parent.ts


def test_envelopes() -> None:
    env = payloads.envelope("events_api", {"x": 1})
    assert set(env) == {
        "envelope_id",
        "payload",
        "type",
        "accepts_response_payload",
        "retry_attempt",
        "retry_reason",
    }
    retry = payloads.envelope(
        "events_api", {"x": 1}, retry_attempt=2, retry_reason="timeout", envelope_id=env["envelope_id"]
    )
    assert (retry["envelope_id"], retry["retry_attempt"]) == (env["envelope_id"], 2)
    assert "retry_attempt" not in payloads.envelope("interactive", {"type": "block_actions"})
    assert payloads.mentions("hi <@U1> and <@U2|bob>") == ["U1", "U2"]
