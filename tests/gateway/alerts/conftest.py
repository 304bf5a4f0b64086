"""Fixtures for alert delivery: a real nats-server, the Slack emulator, and an on-call channel."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from nats.aio.client import Client
from slack_sdk.web.async_client import AsyncWebClient

from chatops.streams import provision
from gateway.alerts import AlertDelivery
from gateway.alerts.delivery import Tuning
from gateway.alerts.failures import Backoff
from gateway.slack.chat import SlackChat
from slackemu.client import EmulatorControl
from tools.harness.slackemu import SlackEmulator

# Test-sized waits: retries within a second or two, a quick look for a vanished consumer.
FAST = Tuning(
    ack_wait=5.0,
    backoff=Backoff(0.2, 2.0),
    stall_backoff=Backoff(0.3, 1.5),
    fetch_timeout=1.0,
)


@dataclass
class Slack:
    """The emulator, a control client, the bot's Web API client and the on-call channel."""

    emulator: SlackEmulator
    control: EmulatorControl
    client: AsyncWebClient
    oncall: str

    def delivery(self, nc: Client, *, tuning: Tuning = FAST, **values: Any) -> AlertDelivery:
        """Alert delivery to the on-call channel through the gateway's Chat over this Slack."""
        return AlertDelivery(nc=nc, chat=SlackChat(self.client), oncall=self.oncall, tuning=tuning, **values)

    @asynccontextmanager
    async def delivering(self, nc: Client, **values: Any) -> AsyncIterator[AlertDelivery]:
        """`delivery(nc, **values)`, started for the length of an `async with` block."""
        delivery = self.delivery(nc, **values)
        await delivery.start()
        try:
            yield delivery
        finally:
            await delivery.stop()


@pytest.fixture
async def slack(slack_emulator: SlackEmulator) -> AsyncIterator[Slack]:
    control = slack_emulator.control()
    client = AsyncWebClient(token=slack_emulator.bot_token, base_url=slack_emulator.api_url)
    try:
        await control.state()
        oncall = await control.create_channel("alerts-oncall")
        yield Slack(slack_emulator, control, client, oncall)
    finally:
        await control.close()


@pytest.fixture
async def js_ready(nc: Client) -> Client:
    """The test's NATS client, with the streams and buckets provisioned."""
    await provision(nc.jetstream())
    return nc
