"""A burst of 1,000 alerts in 50 groups against a Slack that paces each channel: paced, not refused.

Time is scaled ten times up (the emulator allows 10 posts a second per channel with a burst of 5,
and the gateway keeps to the same pace), so the burst takes seconds; `bench/alert_burst.py` runs it
at Slack's own pace of one a second and times it against that floor.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nats.aio.client import Client
from slack_sdk.web.async_client import AsyncWebClient

from gateway.alerts import AlertDelivery
from gateway.slack.chat import SlackChat
from gateway.slack.pacing import Pacer, Priority
from tests.alerts.conftest import FAST
from tools.harness.alerts import store, webhook
from tools.harness.slackemu import SlackEmulator
from tools.harness.wait import eventually

RATE = 10.0  # posts a second per channel, Slack's 1 scaled up
GROUPS, ALERTS = 50, 20


async def test_a_burst_of_1000_alerts_in_50_groups_is_posted_once_each_with_few_429s(
    js_ready: Client, tmp_path: Path
) -> None:
    emulator = SlackEmulator(tmp_path / "slack", rate_per_sec=RATE, rate_burst=5).start()
    try:
        async with emulator.control() as control:
            await control.state()
            oncall = await control.create_channel("burst")
            client = AsyncWebClient(token=emulator.bot_token, base_url=emulator.api_url)
            pacer = Pacer(SlackChat(client), post_rate=RATE, post_burst=3)
            delivery = AlertDelivery(nc=js_ready, chat=pacer.chat(Priority.ALERT), oncall=oncall, tuning=FAST)
            names = [f"Burst{g:02d}" for g in range(GROUPS)]
            for name in names:
                await store(js_ready, webhook(name, [(f"host-{i}", "firing") for i in range(ALERTS)]))
            await delivery.start()
            try:
                messages: list[dict[str, Any]] = []

                async def all_posted() -> bool:
                    messages[:] = await control.messages(oncall)
                    return len(messages) >= GROUPS

                await eventually(all_posted, timeout=60, what="50 groups posted")
            finally:
                await delivery.stop()
            requests = await control.requests("chat.postMessage")
    finally:
        emulator.stop()
    refused = [r for r in requests if r["status"] == 429]
    assert len(refused) <= 5, f"{len(refused)} posts answered 429"
    texts = [str(m.get("text", "")) for m in messages]
    assert sorted(n for n in names for t in texts if n in t) == names  # every group once, none twice
    assert len(messages) == GROUPS
