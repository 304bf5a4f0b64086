"""The Slack edge: recorded Slack payloads (tests/fixtures/slack) -> the gateway's own values."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from gateway.render.doc import Doc, Mention, Para
from gateway.slack.admission import FOREIGN, NO_DMS, WRONG_CHANNEL, Admission, admission
from gateway.slack.blocks import CANCEL, CONFIRM, confirm_message, resolved_message
from gateway.slack.events import ButtonClick, ChatMessage, button_click, chat_message, strip_mention

FIXTURES = Path(__file__).parents[1] / "fixtures" / "slack"
MENTION = json.loads((FIXTURES / "app_mention_event_callback.json").read_text())
ACTIONS = json.loads((FIXTURES / "block_actions.json").read_text())
BOT = "W111"


def test_an_app_mention_becomes_a_chat_message_without_the_bots_mention():
    msg = chat_message(MENTION, BOT)
    assert msg == ChatMessage(
        dedupe_key="Ev111",
        user="W222",
        channel="C111",
        text="Hi there!",
        ts="1595926230.009600",
        thread_ts="1595926230.009600",
        direct=False,
        origin=("E111", "T111"),  # the recorded event's workspace and Grid org
    )


def test_a_mention_inside_a_thread_is_answered_in_that_thread():
    body = copy.deepcopy(MENTION)
    body["event"]["thread_ts"] = "1595926000.000100"
    msg = chat_message(body, BOT)
    assert msg is not None and msg.thread_ts == "1595926000.000100"


def test_a_direct_message_is_a_command_and_other_messages_are_not():
    body = copy.deepcopy(MENTION)
    body["event"].update(type="message", channel_type="im", text="deployed version", channel="D111")
    msg = chat_message(body, BOT)
    assert msg is not None and msg.direct and msg.text == "deployed version" and msg.channel == "D111"
    in_channel = copy.deepcopy(body)
    in_channel["event"]["channel_type"] = "channel"
    assert chat_message(in_channel, BOT) is None


def test_bot_posts_edits_and_our_own_messages_are_ignored():
    for change in ({"bot_id": "B1"}, {"subtype": "message_changed"}, {"user": BOT}, {"user": ""}):
        body = copy.deepcopy(MENTION)
        body["event"].update(change)
        assert chat_message(body, BOT) is None, change
    assert chat_message({"type": "event_callback"}, BOT) is None
    assert chat_message({"event": "nonsense"}, BOT) is None


def test_without_an_event_id_the_client_msg_id_or_channel_and_ts_dedupe():
    body = copy.deepcopy(MENTION)
    del body["event_id"]
    assert chat_message(body, BOT).dedupe_key == "9cbd4c5b-7ddf-4ede-b479-ad21fca66d63"  # type: ignore[union-attr]
    del body["event"]["client_msg_id"]
    assert chat_message(body, BOT).dedupe_key == "C111-1595926230.009600"  # type: ignore[union-attr]


def test_only_the_bots_own_mention_is_stripped():
    assert strip_mention("<@W111>  history user=<@U222|bob>  ", BOT) == "history user=<@U222|bob>"


def test_a_button_click_becomes_a_button_click():
    click = button_click(ACTIONS)
    assert click == ButtonClick(
        action_id="a",
        value="click_me_123",
        user="W111",
        channel="C111",
        message_ts="111.222",
        origin=("E111", "T111"),
    )
    assert button_click({"type": "view_submission"}) is None
    assert button_click({"type": "block_actions", "actions": []}) is None


def test_every_workspace_an_event_names_is_its_origin():
    # A Slack Connect guest: the envelope is the bot's workspace, the sender's fields are another.
    body = copy.deepcopy(MENTION)
    body["event"].update(team="T0GUEST01", user_team="T0GUEST01", source_team="T0GUEST01")
    msg = chat_message(body, BOT)
    assert msg is not None and msg.origin == ("E111", "T0GUEST01", "T111")
    guest_click = copy.deepcopy(ACTIONS)
    guest_click["user"]["team_id"] = "T0GUEST01"
    click = button_click(guest_click)
    assert click is not None and click.origin == ("E111", "T0GUEST01", "T111")


def test_admission_wants_every_id_allowed_and_the_channel_listed():
    own = Admission(frozenset({"T111", "E111"}))
    assert own.refusal(("E111", "T111"), "C1") == ""
    assert own.refusal(("E111", "T0GUEST01", "T111"), "C1") == FOREIGN
    assert own.refusal(("T0OTHER01",), "C1", direct=True) == FOREIGN
    some = admission((), ("T111",), ("C1", "DM"))
    assert some.refusal(("T111",), "C1") == ""
    assert some.refusal(("T111",), "C2") == WRONG_CHANNEL
    assert some.refusal(("T111",), "D9", direct=True) == ""  # `dm` admits direct messages
    assert admission((), ("T111",), ("C1",)).refusal(("T111",), "D9", direct=True) == NO_DMS
    listed = admission(("T111", "T222"), ("T111",), ())
    assert listed.refusal(("T222",), "C9") == "" and listed.refusal(("T333",), "C9") == FOREIGN


def test_the_confirmation_question_carries_both_buttons_and_the_pending_id():
    msg = confirm_message(Doc("Run `change sampling always`?", (Para("sure?"),)), "abc123")
    actions = msg.blocks[-1]
    assert actions["type"] == "actions"
    assert [(e["action_id"], e["value"]) for e in actions["elements"]] == [
        (CONFIRM, "abc123"),
        (CANCEL, "abc123"),
    ]
    done = resolved_message(("Cancelled by ", Mention("U1")), None)
    assert done.blocks[0]["type"] == "context" and "actions" not in json.dumps(done.blocks)
    assert done.blocks[0]["elements"][0]["text"] == "Cancelled by <@U1>"
