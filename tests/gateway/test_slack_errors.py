"""Failed Slack Web API calls are counted once, after the client's own retries, by method and error."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from slack_sdk.errors import SlackApiError

from gateway.cli import serve
from gateway.metrics import GatewayMetrics
from gateway.settings import GatewaySettings
from gateway.slack.app import build_client
from tools.harness.components import gateway_env
from tools.harness.ports import LOOPBACK, free_port
from tools.harness.servers import NatsServer
from tools.harness.slackemu import SlackEmulator
from tools.harness.wait import eventually


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


async def _served_count(metrics_url: str, method: str, error: str) -> float:
    """chatops_gateway_slack_errors_total{method,error} as GET /metrics shows it (the gateway runs in
    this loop: asked without blocking it)."""
    async with aiohttp.ClientSession() as http, http.get(metrics_url) as resp:
        text = await resp.text()
    return sum(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "chatops_gateway_slack_errors_total" and s.labels == {"method": method, "error": error}
    )


@pytest.mark.slow
async def test_a_call_bolt_makes_with_its_client_for_an_event_is_counted_too(
    nats_server: NatsServer, slack_emulator: SlackEmulator
) -> None:
    # bolt hands each event a Web API client of its own; its authorization checks the token with
    # auth.test through that client, on the first event (the gateway's own auth.test is done by then).
    port = free_port()
    values = {**gateway_env(nats_server, slack_emulator, port), "SLACK_ONCALL_CHANNEL": ""}
    settings = GatewaySettings(**values)  # type: ignore[arg-type]
    metrics_url = f"http://{LOOPBACK}:{port}/metrics"
    stop = asyncio.Event()
    gateway = asyncio.create_task(serve(settings, stop), name="gateway")
    try:
        async with slack_emulator.control() as ctl:
            await ctl.wait_connected(timeout=60)  # Socket Mode opens after the gateway's own auth.test
            user = await ctl.create_user("dana")
            channel = await ctl.create_channel("errors")
            await ctl.set_fault("server_error", methods=["auth.test"])  # every try, until cleared
            await ctl.mention(user, channel, "help")

            async def counted_on_metrics() -> bool:
                return await _served_count(metrics_url, "auth.test", "internal_error") >= 1

            await eventually(counted_on_metrics, timeout=30, what="auth.test's failure on /metrics")
            # Slack answers again: the next event is authorized and answered.
            await ctl.clear_faults()
            ts = await ctl.mention(user, channel, "help")
            reply = await ctl.wait_for_message(channel, thread_ts=ts, timeout=30)
            assert "Here is what I can do" in reply["text"]
            counted = await _served_count(metrics_url, "auth.test", "internal_error")
            failed = [r for r in await ctl.requests("auth.test") if r["status"] == 500]
    finally:
        stop.set()
        await asyncio.wait_for(gateway, 60)
    # One count per call whose three tries were all refused. While bolt retries, the ack waits, so Slack
    # may deliver the event again, and that delivery's call is a call of its own (counted on its own).
    assert counted >= 1 and len(failed) >= 3 * counted
