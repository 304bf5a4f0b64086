"""Fixtures for alert delivery: a real nats-server, the Slack emulator, and an on-call channel."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from nats.aio.client import Client
from slack_sdk.web.async_client import AsyncWebClient

from chatops.streams import provision
from gateway.settings import GatewaySettings
from slackemu.client import EmulatorControl
from tests.harness.slackemu import SlackEmulator, slack_emulator  # noqa: F401

FIXTURES = Path(__file__).parent.parent / "fixtures" / "alertmanager"


@dataclass
class Slack:
    """The emulator, a control client, the bot's Web API client and the on-call channel."""

    emulator: SlackEmulator
    control: EmulatorControl
    client: AsyncWebClient
    oncall: str

    def settings(self, nats_url: str, **extra: object) -> GatewaySettings:
        values: dict[str, object] = {
            "NATS_URL": nats_url,
            "SLACK_BOT_TOKEN": self.emulator.bot_token,
            "SLACK_APP_TOKEN": self.emulator.app_token,
            "SLACK_API_URL": self.emulator.api_url,
            "SLACK_ONCALL_CHANNEL": self.oncall,
            **extra,
        }
        return GatewaySettings(**values)  # type: ignore[arg-type]


@pytest.fixture
async def slack(slack_emulator: SlackEmulator) -> AsyncIterator[Slack]:  # noqa: F811
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
