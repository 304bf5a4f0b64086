"""Failed Slack Web API calls are counted once, after the client's own retries, by method and error."""

from __future__ import annotations

import pytest
from slack_sdk.errors import SlackApiError

from gateway.metrics import GatewayMetrics
from gateway.settings import GatewaySettings
from gateway.slack.app import build_client
from tools.harness.ports import free_port
from tools.harness.slackemu import SlackEmulator


def settings(api_url: str, emu: SlackEmulator) -> GatewaySettings:
    values = {"SLACK_BOT_TOKEN": emu.bot_token, "SLACK_APP_TOKEN": emu.app_token, "SLACK_API_URL": api_url}
    return GatewaySettings(**values)  # type: ignore[arg-type]


def counted(metrics: GatewayMetrics, method: str, error: str) -> float:
    value = metrics.registry.get_sample_value(
        "chatops_gateway_slack_errors_total", {"method": method, "error": error}
    )
    return value or 0.0


async def test_errors_are_counted_by_method_and_slack_error(slack_emulator: SlackEmulator) -> None:
    metrics = GatewayMetrics()
    client = build_client(settings(slack_emulator.api_url, slack_emulator), metrics.slack_failed)
    async with slack_emulator.control() as control:
        await control.state()
        oncall = await control.channel_id("oncall")
        assert (await client.chat_postMessage(channel=oncall, text="fine"))["ok"]
        with pytest.raises(SlackApiError):
            await client.chat_postMessage(channel="no-such-channel", text="lost")
        await control.set_fault("server_error", methods=["chat.postMessage"], seconds=60)
        with pytest.raises(SlackApiError):
            await client.chat_postMessage(channel=oncall, text="Slack is down")
        tries = [r for r in await control.requests("chat.postMessage") if r["status"] == 500]
    assert counted(metrics, "chat.postMessage", "channel_not_found") == 1
    # The client retried the 500s itself; the call failed once, and is counted once.
    assert len(tries) == 3 and counted(metrics, "chat.postMessage", "internal_error") == 1


async def test_a_slack_that_does_not_answer_is_counted_too(slack_emulator: SlackEmulator) -> None:
    metrics = GatewayMetrics()
    client = build_client(
        settings(f"http://127.0.0.1:{free_port()}/api/", slack_emulator), metrics.slack_failed
    )
    with pytest.raises(OSError):
        await client.users_info(user="U1")
    [sample] = [
        s
        for f in metrics.registry.collect()
        for s in f.samples
        if s.name == "chatops_gateway_slack_errors_total"
    ]
    assert sample.labels["method"] == "users.info" and sample.labels["error"].startswith("Client")
