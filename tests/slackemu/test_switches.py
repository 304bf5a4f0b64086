"""The switches a delivery test needs, answered as Slack answers: a bot removed from a channel, an
archived channel, a revoked token, refused blocks, a slow answer; and message metadata read back."""

from __future__ import annotations

import asyncio

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from slackemu.client import ControlError, EmulatorControl
from tools.harness.slackemu import SlackEmulator

BLOCKS = [{"type": "section", "text": {"type": "mrkdwn", "text": "*firing*"}}]


async def error_of(call: object) -> str:
    with pytest.raises(SlackApiError) as failed:
        await call  # type: ignore[misc]
    return str(failed.value.response["error"])


async def test_removed_bot_archived_channel_revoked_token_and_refused_blocks(
    slack_emulator: SlackEmulator, slack_control: EmulatorControl
) -> None:
    web = AsyncWebClient(token=slack_emulator.bot_token, base_url=slack_emulator.api_url)
    control = slack_control
    oncall = await control.channel_id("oncall")
    posted = await web.chat_postMessage(channel=oncall, text="before")

    await control.set_bot_member(oncall, False)
    assert await error_of(web.chat_postMessage(channel=oncall, text="x")) == "not_in_channel"
    assert await error_of(web.chat_postMessage(channel="#oncall", text="x")) == "not_in_channel"
    assert await error_of(web.conversations_history(channel=oncall)) == "not_in_channel"
    assert (await web.conversations_info(channel=oncall))["channel"]["is_member"] is False
    await control.set_bot_member(oncall, True)
    await web.chat_postMessage(channel=oncall, text="after")

    await control.set_archived(oncall, True)
    assert await error_of(web.chat_postMessage(channel=oncall, text="x")) == "is_archived"
    assert await error_of(web.chat_update(channel=oncall, ts=posted["ts"], text="x")) == "is_archived"
    await control.set_archived(oncall, False)

    await control.set_token_revoked("bot", True)
    assert await error_of(web.chat_postMessage(channel=oncall, text="x")) == "token_revoked"
    assert await error_of(web.auth_test()) == "token_revoked"
    assert (await control.state())["revoked_tokens"] == ["bot"]
    await control.set_token_revoked("bot", False)
    assert (await web.auth_test())["ok"]

    await control.set_fault("invalid_blocks", methods=["chat.postMessage"], count=1)
    await web.chat_postMessage(channel=oncall, text="plain text passes")  # no blocks: not refused
    with pytest.raises(SlackApiError) as refused:
        await web.chat_postMessage(channel=oncall, text="x", blocks=BLOCKS)
    assert refused.value.response["error"] == "invalid_blocks"
    assert refused.value.response["errors"]
    assert "[ERROR]" in refused.value.response["response_metadata"]["messages"][0]
    await web.chat_postMessage(channel=oncall, text="with blocks", blocks=BLOCKS)  # the fault was used up

    texts = [m["text"] for m in await control.messages(oncall)]
    assert texts == ["before", "after", "plain text passes", "with blocks"]
    with pytest.raises(ControlError, match="direct message"):
        await control.set_bot_member(await control.open_im(await control.user_id("alice")), False)


async def test_metadata_comes_back_only_when_asked_for_and_a_slow_answer_is_late_but_done(
    slack_emulator: SlackEmulator, slack_control: EmulatorControl
) -> None:
    web = AsyncWebClient(token=slack_emulator.bot_token, base_url=slack_emulator.api_url)
    oncall = await slack_control.channel_id("oncall")
    metadata = {"event_type": "chatops_alert", "event_payload": {"notification_id": "n1"}}
    top = await web.chat_postMessage(channel=oncall, text="alert", metadata=metadata)
    assert top["message"]["metadata"] == metadata
    reply = await web.chat_postMessage(
        channel=oncall, text="update", thread_ts=top["ts"], metadata={**metadata, "event_payload": {"n": 2}}
    )
    await web.chat_postMessage(channel=oncall, text="no metadata")

    plain = await web.conversations_history(channel=oncall)
    assert all("metadata" not in m for m in plain["messages"])
    full = await web.conversations_history(channel=oncall, include_all_metadata=True)
    assert [m.get("metadata") for m in full["messages"]] == [None, metadata]
    thread = await web.conversations_replies(channel=oncall, ts=top["ts"], include_all_metadata=True)
    assert [m["metadata"]["event_payload"] for m in thread["messages"]] == [
        {"notification_id": "n1"},
        {"n": 2},
    ]
    assert reply["ts"] == thread["messages"][1]["ts"]
    # Bounded look-back: `oldest` and paging by cursor, newest first.
    window = await web.conversations_history(
        channel=oncall, oldest=top["ts"], limit=1, include_all_metadata=True
    )
    assert [m["text"] for m in window["messages"]] == ["no metadata"] and window["has_more"] is False
    paged = await web.conversations_history(channel=oncall, limit=1)
    rest = await web.conversations_history(
        channel=oncall, limit=1, cursor=paged["response_metadata"]["next_cursor"]
    )
    assert [m["text"] for m in (*paged["messages"], *rest["messages"])] == ["no metadata", "alert"]
    assert await error_of(web.chat_postMessage(channel=oncall, text="x", metadata={"event_payload": {}})) == (
        "invalid_metadata_format"
    )

    await slack_control.set_fault("slow", methods=["chat.postMessage"], count=1, delay=2)
    slow = asyncio.ensure_future(web.chat_postMessage(channel=oncall, text="late answer"))
    found = await slack_control.wait_for_message(
        oncall, predicate=lambda m: m["text"] == "late answer", timeout=10
    )
    assert not slow.done()  # in the channel already, while the caller still waits for its answer
    assert (await slow)["ts"] == found["ts"]
