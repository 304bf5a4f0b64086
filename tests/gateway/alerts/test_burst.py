"""A burst of 1,000 alerts in 50 groups against a Slack that paces each channel: paced, not refused.

Time is scaled ten times up (the emulator allows 10 posts a second per channel with a burst of 5,
and the gateway keeps to the same pace), so the burst takes seconds; `bench/alert_burst.py` runs it
at Slack's own pace of one a second and times it against that floor. The same burst without the
pacer shows that this Slack does refuse it: the first test's bound is one the gateway can miss.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from nats.aio.client import Client
from slack_sdk.web.async_client import AsyncWebClient

from gateway.alerts import AlertDelivery
from gateway.slack.chat import SlackChat, TaggedChat
from gateway.slack.pacing import Pacer, Priority
from slackemu.client import EmulatorControl
from tests.gateway.alerts.conftest import FAST
from tools.harness.alerts import store, webhook
from tools.harness.slackemu import SlackEmulator
from tools.harness.wait import eventually

RATE = 10.0  # posts a second per channel, Slack's 1 scaled up
GROUPS, ALERTS = 50, 20
MOST_429 = 5
NAMES = [f"Burst{g:02d}" for g in range(GROUPS)]

Done = Callable[[EmulatorControl, str], Awaitable[bool]]


async def burst(
    js: Client, tmp_path: Path, paced: bool, done: Done
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Deliver the burst until `done`; the on-call channel's messages and the chat.postMessage requests."""
    emulator = SlackEmulator(tmp_path / "slack", rate_per_sec=RATE, rate_burst=5).start()
    try:
        async with emulator.control() as control:
            await control.state()
            oncall = await control.create_channel("burst")
            client = AsyncWebClient(token=emulator.bot_token, base_url=emulator.api_url)
            chat: TaggedChat = SlackChat(client)
            if paced:
                chat = Pacer(chat, post_rate=RATE, post_burst=3).chat(Priority.ALERT)
            delivery = AlertDelivery(nc=js, chat=chat, oncall=oncall, tuning=FAST)
            for name in NAMES:
                await store(js, webhook(name, [(f"host-{i}", "firing") for i in range(ALERTS)]))
            await delivery.start()
            try:
                await eventually(lambda: done(control, oncall), timeout=60, what="the burst")
            finally:
                await delivery.stop()
            return await control.messages(oncall), await control.requests("chat.postMessage")
    finally:
        emulator.stop()


async def all_posted(control: EmulatorControl, oncall: str) -> bool:
    return len(await control.messages(oncall)) >= GROUPS


async def test_a_burst_of_1000_alerts_in_50_groups_is_posted_once_each_with_few_429s(
    js_ready: Client, tmp_path: Path
) -> None:
    messages, requests = await burst(js_ready, tmp_path, True, all_posted)
    refused = [r for r in requests if r["status"] == 429]
    assert len(refused) <= MOST_429, f"{len(refused)} posts answered 429"
    texts = [str(m.get("text", "")) for m in messages]
    assert sorted(n for n in NAMES for t in texts if n in t) == NAMES  # every group once, none twice
    assert len(messages) == GROUPS


async def test_without_the_pacer_the_same_burst_is_answered_429_more_often(
    js_ready: Client, tmp_path: Path
) -> None:
    async def refused_enough(control: EmulatorControl, oncall: str) -> bool:
        requests = await control.requests("chat.postMessage")
        return sum(1 for r in requests if r["status"] == 429) > MOST_429

    _, requests = await burst(js_ready, tmp_path, False, refused_enough)
    assert sum(1 for r in requests if r["status"] == 429) > MOST_429
