"""The Web API through unmodified slack_sdk: shapes, tokens, limits, rate limit and 500s."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from slackemu.client import EmulatorControl
from tools.harness.slackemu import SlackEmulator


@pytest.fixture
def control(slack_control: EmulatorControl) -> EmulatorControl:
    return slack_control


@pytest.fixture
def web(slack_emulator: SlackEmulator) -> AsyncWebClient:
    return AsyncWebClient(token=slack_emulator.bot_token, base_url=slack_emulator.api_url)


async def test_auth_test_answers_the_bot_identity(web: AsyncWebClient, control: EmulatorControl) -> None:
    me = await web.auth_test()
    assert me["ok"] is True
    assert me["user_id"] == control.bot_user_id
    assert me["bot_id"].startswith("B")
    assert me["team_id"].startswith("T")


async def test_tokens_are_checked(slack_emulator: SlackEmulator) -> None:
    with pytest.raises(SlackApiError) as bad:
        await AsyncWebClient(token="xoxb-not-the-one", base_url=slack_emulator.api_url).auth_test()
    assert bad.value.response["error"] == "invalid_auth"
    with pytest.raises(SlackApiError) as missing:
        await AsyncWebClient(base_url=slack_emulator.api_url).auth_test()
    assert missing.value.response["error"] == "not_authed"
    with pytest.raises(SlackApiError) as wrong_kind:
        await AsyncWebClient(
            token=slack_emulator.bot_token, base_url=slack_emulator.api_url
        ).apps_connections_open(app_token=slack_emulator.bot_token)
    assert wrong_kind.value.response["error"] == "not_allowed_token_type"


async def test_unknown_method(web: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as err:
        await web.api_call("chat.scheduleMessage", json={"channel": "C1", "text": "x", "post_at": 1})
    assert err.value.response["error"] == "unknown_method"


async def test_post_update_react_and_read_back(web: AsyncWebClient, control: EmulatorControl) -> None:
    oncall = await control.channel_id("oncall")
    alice = await control.user_id("alice")
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*firing*"}}]
    posted = await web.chat_postMessage(channel="#oncall", text="firing", blocks=blocks)
    assert posted["channel"] == oncall
    assert posted["message"]["blocks"] == blocks
    reply = await web.chat_postMessage(channel=oncall, text="details", thread_ts=posted["ts"])
    assert reply["message"]["thread_ts"] == posted["ts"]
    updated = await web.chat_update(channel=oncall, ts=posted["ts"], text="resolved", blocks=[])
    assert updated["ts"] == posted["ts"] and updated["text"] == "resolved"
    await web.reactions_add(channel=oncall, timestamp=posted["ts"], name="white_check_mark")
    with pytest.raises(SlackApiError) as twice:
        await web.reactions_add(channel=oncall, timestamp=posted["ts"], name="white_check_mark")
    assert twice.value.response["error"] == "already_reacted"
    eph = await web.chat_postEphemeral(channel=oncall, user=alice, text="only you")
    assert eph["message_ts"]

    messages = {m["ts"]: m for m in await control.messages(oncall)}
    top = messages[posted["ts"]]
    assert top["text"] == "resolved"
    assert top["history"][0]["text"] == "firing"
    assert top["reply_count"] == 1
    assert top["reactions"] == [{"name": "white_check_mark", "users": [control.bot_user_id], "count": 1}]
    assert messages[eph["message_ts"]]["ephemeral_to"] == alice
    await web.reactions_remove(channel=oncall, timestamp=posted["ts"], name="white_check_mark")
    assert "reactions" not in {m["ts"]: m for m in await control.messages(oncall)}[posted["ts"]]


async def test_users_and_conversations_info(web: AsyncWebClient, control: EmulatorControl) -> None:
    alice = await control.user_id("alice")
    info = await web.users_info(user=alice)
    assert info["user"]["name"] == "alice" and info["user"]["is_bot"] is False
    channel = await web.conversations_info(channel=await control.channel_id("general"))
    assert channel["channel"]["name"] == "general"
    with pytest.raises(SlackApiError) as err:
        await web.conversations_info(channel="C0NOPE")
    assert err.value.response["error"] == "channel_not_found"
    with pytest.raises(SlackApiError) as err:
        await web.users_info(user="U0NOPE")
    assert err.value.response["error"] == "user_not_found"


async def test_slack_limits(web: AsyncWebClient, control: EmulatorControl) -> None:
    channel = await control.create_channel("limits")
    long = await web.chat_postMessage(channel=channel, text="x" * 40_123)
    assert len(long["message"]["text"]) == 40_000
    section = {"type": "section", "text": {"type": "mrkdwn", "text": "ok"}}
    with pytest.raises(SlackApiError) as many:
        await web.chat_postMessage(channel=channel, text="t", blocks=[section] * 51)
    assert many.value.response["error"] == "invalid_blocks"
    big = {"type": "section", "text": {"type": "mrkdwn", "text": "y" * 3001}}
    with pytest.raises(SlackApiError) as huge:
        await web.chat_postMessage(channel=channel, text="t", blocks=[big])
    assert huge.value.response["error"] == "invalid_blocks"
    with pytest.raises(SlackApiError) as empty:
        await web.api_call("chat.postMessage", json={"channel": channel, "text": ""})
    assert empty.value.response["error"] == "no_text"


async def test_rate_limit_answers_429_and_the_sdk_retry_handler_gets_through(
    web: AsyncWebClient, slack_emulator: SlackEmulator, control: EmulatorControl
) -> None:
    channel = await control.create_channel("busy")
    with pytest.raises(SlackApiError) as limited:
        for i in range(20):
            await web.chat_postMessage(channel=channel, text=f"burst {i}")
    assert limited.value.response.status_code == 429
    assert limited.value.response["error"] == "ratelimited"
    assert int(limited.value.response.headers["Retry-After"]) >= 1

    patient = AsyncWebClient(
        token=slack_emulator.bot_token,
        base_url=slack_emulator.api_url,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=10)],
    )
    for i in range(3):
        assert (await patient.chat_postMessage(channel=channel, text=f"patient {i}"))["ok"]
    texts = [m["text"] for m in await control.messages(channel)]
    assert texts[-3:] == ["patient 0", "patient 1", "patient 2"]
    statuses = [r["status"] for r in await control.requests("chat.postMessage")]
    assert statuses.count(429) >= 2


async def test_faults_500_and_forced_429(
    web: AsyncWebClient, slack_emulator: SlackEmulator, control: EmulatorControl
) -> None:
    await control.set_fault("server_error", methods=["chat.postMessage"], count=1)
    with pytest.raises(SlackApiError) as failed:
        await web.chat_postMessage(channel="#general", text="one")
    assert failed.value.response.status_code == 500
    assert (await web.chat_postMessage(channel="#general", text="two"))["ok"]

    await control.set_fault("server_error", count=1)
    retrying = AsyncWebClient(
        token=slack_emulator.bot_token,
        base_url=slack_emulator.api_url,
        retry_handlers=[AsyncServerErrorRetryHandler(max_retry_count=2)],
    )
    assert (await retrying.auth_test())["ok"]

    await control.set_fault("ratelimited", methods=["users.info"], count=2, retry_after=1)
    alice = await control.user_id("alice")
    with pytest.raises(SlackApiError) as limited:
        await web.users_info(user=alice)
    assert limited.value.response.headers["Retry-After"] == "1"
    await control.clear_faults()
    assert (await web.users_info(user=alice))["ok"]


async def test_request_log_never_holds_tokens(
    web: AsyncWebClient, slack_emulator: SlackEmulator, control: EmulatorControl
) -> None:
    await web.auth_test()
    await web.chat_postMessage(channel="#oncall", text="hi", token=slack_emulator.bot_token)
    log = await control.requests()
    assert [r["method"] for r in log][-2:] == ["auth.test", "chat.postMessage"]
    dumped = json.dumps(log)
    assert slack_emulator.bot_token not in dumped
    log_file = await asyncio.to_thread(Path(slack_emulator.proc.log_path).read_text)
    assert slack_emulator.bot_token not in log_file and "chat.postMessage" in log_file


async def test_more_methods_a_bot_may_call(
    web: AsyncWebClient, slack_emulator: SlackEmulator, control: EmulatorControl
) -> None:
    assert (await AsyncWebClient(base_url=slack_emulator.api_url).api_test(foo="bar"))["args"] == {
        "foo": "bar"
    }
    bob = await control.user_id("bob")
    dm = (await web.conversations_open(users=bob))["channel"]["id"]
    assert dm == await control.open_im(bob)
    parent = await web.chat_postMessage(channel=dm, text="parent")
    await web.chat_postMessage(channel=dm, text="child", thread_ts=parent["ts"])
    gone = await web.chat_postMessage(channel=dm, text="to delete")
    await web.chat_delete(channel=dm, ts=gone["ts"])
    history = await web.conversations_history(channel=dm)
    assert [m["text"] for m in history["messages"]] == ["parent"]
    assert history["messages"][0]["reply_count"] == 1
    replies = await web.conversations_replies(channel=dm, ts=parent["ts"])
    assert [m["text"] for m in replies["messages"]] == ["parent", "child"]
    link = await web.chat_getPermalink(channel=dm, message_ts=parent["ts"])
    assert link["permalink"].startswith(slack_emulator.base_url)
    general = await control.channel_id("general")
    alice_ts = await control.post_message(await control.user_id("alice"), general, "mine")
    with pytest.raises(SlackApiError) as err:
        await web.chat_delete(channel=general, ts=alice_ts)
    assert err.value.response["error"] == "cant_delete_message"
    with pytest.raises(SlackApiError) as err:
        await web.chat_update(channel=general, ts=alice_ts, text="edited by the bot?")
    assert err.value.response["error"] == "cant_update_message"
    with pytest.raises(SlackApiError) as err:  # as in Slack, only posting takes a channel name
        await web.chat_update(channel="#general", ts=alice_ts, text="x")
    assert err.value.response["error"] == "channel_not_found"


async def test_a_reply_must_name_an_existing_message(web: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as err:
        await web.chat_postMessage(channel="#oncall", text="lost", thread_ts="1.000001")
    assert err.value.response["error"] == "thread_not_found"
