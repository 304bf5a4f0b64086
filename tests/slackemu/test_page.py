"""The web page in headless Chromium: type as a user, see the bot's reply, click its button."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from PIL import Image
from playwright.async_api import expect
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_sdk.web.async_client import AsyncWebClient

from slackemu.client import EmulatorControl
from tests.slackemu.bolt_apps import echo_app
from tools.harness.browser import ARTIFACTS, chromium_page
from tools.harness.slackemu import SlackEmulator

ALERT_BLOCKS: list[dict[str, Any]] = [
    {"type": "header", "text": {"type": "plain_text", "text": "🔥 HighErrorRate"}},
    {
        "type": "section",
        "fields": [
            {"type": "mrkdwn", "text": "*Severity*\ncritical"},
            {"type": "mrkdwn", "text": "*Job*\n`petstore`"},
        ],
    },
    {"type": "divider"},
    {
        "type": "actions",
        "block_id": "alert",
        "elements": [
            {
                "type": "button",
                "action_id": "silence",
                "style": "danger",
                "value": "1h",
                "text": {"type": "plain_text", "text": "Silence 1h"},
            },
        ],
    },
    {
        "type": "context",
        "elements": [
            {
                "type": "mrkdwn",
                "text": "from Alertmanager · <http://127.0.0.1:9093|open> · for <!subteam^S0ONCALL> · "
                "acked <!date^1796000911^{ago}|2026-11-30 01:08 UTC>",
            }
        ],
    },
    {
        "type": "section",
        "text": {
            "type": "mrkdwn",
            # As Slack sends it: & in a URL is &amp;, and the bot's shortcodes stand for emoji.
            "text": ":fire: <http://127.0.0.1:9090/graph?g0.expr=up%3D%3D0&amp;g0.tab=1|graph> "
            ":white_check_mark: at 12:30:45 :no_such_emoji:",
        },
    },
]

HOOK = {
    "username": "Alertmanager",
    "attachments": [
        {
            "title": "FIRING [critical] ChatopsGatewayDown",
            "text": "Prometheus cannot scrape the gateway.",
            "color": "danger",
        }
    ],
}


def picture() -> bytes:
    """A 300x150 PNG, half red and half blue."""
    image = Image.new("RGB", (300, 150), (200, 30, 30))
    image.paste((30, 30, 200), (150, 0, 300, 150))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
async def bolt(slack_emulator: SlackEmulator) -> AsyncIterator[EmulatorControl]:
    handler = AsyncSocketModeHandler(echo_app(slack_emulator), slack_emulator.app_token, ping_interval=2)
    await handler.connect_async()
    try:
        async with slack_emulator.control() as control:
            await control.wait_connected()
            yield control
    finally:
        await handler.close_async()


async def test_page_shows_a_conversation(
    slack_emulator: SlackEmulator, bolt: EmulatorControl, tmp_path: Path
) -> None:
    control = bolt
    alice, oncall = await control.user_id("alice"), await control.channel_id("oncall")
    async with chromium_page(tmp_path / "chromium-profile", height=700) as page:
        errors: list[Any] = []
        page.on("pageerror", lambda exc: errors.append(exc))
        await page.goto(slack_emulator.base_url + "/")
        await page.locator(f'#channels li[data-id="{oncall}"]').click()
        await page.select_option("#user-select", alice)
        await expect(page.locator("#status")).to_have_text("live", timeout=20_000)

        await page.fill("#text", "@chatops hello from the browser")
        await page.press("#text", "Enter")
        reply = page.locator(".thread .message.bot .text", has_text="pong: hello from the browser")
        await expect(reply).to_be_visible(timeout=20_000)
        mine = page.locator(f'.message[data-user="{alice}"] .mention', has_text="@chatops")
        await expect(mine.first).to_be_visible()

        await page.fill("#text", "@chatops buttons")
        await page.press("#text", "Enter")
        button = page.locator('button.block-button[data-action-id="approve"]').last
        await expect(button).to_be_visible(timeout=20_000)
        await expect(page.locator(".section-text b", has_text="Deploy v2?").last).to_be_visible()
        await button.click()
        approved = page.locator(".message.bot .text", has_text=f"approved v2 by @alice in {oncall}")
        await expect(approved).to_be_visible(timeout=20_000)
        await expect(page.locator(".message.bot .edited").last).to_be_visible()

        web = AsyncWebClient(token=slack_emulator.bot_token, base_url=slack_emulator.api_url)
        await web.chat_postMessage(channel=oncall, text="HighErrorRate firing", blocks=ALERT_BLOCKS)
        await expect(page.locator(".block.header", has_text="HighErrorRate")).to_be_visible(timeout=20_000)
        await expect(page.locator(".fields div", has_text="critical")).to_be_visible()
        context = page.locator(".block.context", has_text="Alertmanager")
        await expect(context).to_contain_text("for @S0ONCALL · acked 2026-11-30 01:08 UTC")
        await expect(context.locator("time")).to_have_attribute("data-unix", "1796000911")
        await expect(page.locator('button.block-button.danger[data-action-id="silence"]')).to_be_visible()
        graph_link = page.locator(".section-text a", has_text="graph")
        await expect(graph_link).to_have_attribute(
            "href", "http://127.0.0.1:9090/graph?g0.expr=up%3D%3D0&g0.tab=1"
        )
        section = page.locator(".section-text", has=page.locator("a", has_text="graph"))
        await expect(section).to_contain_text("🔥")
        await expect(section).to_contain_text("✅ at 12:30:45 :no_such_emoji:")

        done = await web.files_upload_v2(
            channel=oncall,
            file=picture(),
            filename="picture.png",
            title="A picture",
            alt_txt="red and blue",
            initial_comment=":chart_with_upwards_trend: *a picture*",
        )
        file_id = done["files"][0]["id"]
        image = page.locator(f'figure.file[data-file-id="{file_id}"] img')
        await expect(image).to_be_visible(timeout=20_000)
        await expect(image).to_have_attribute("alt", "red and blue")
        assert await image.evaluate("img => img.decode().then(() => img.naturalWidth)") == 300
        await expect(page.locator(".message.bot .text", has_text="📈 a picture")).to_be_visible()

        # Alertmanager's own Slack integration posts attachments through the incoming webhook.
        async with (
            aiohttp.ClientSession() as http,
            http.post(slack_emulator.webhook_url, json=HOOK) as resp,
        ):
            assert resp.status == 200
        title = page.locator(".attachment .attachment-title", has_text="FIRING [critical] ChatopsGatewayDown")
        await expect(title).to_be_visible(timeout=20_000)
        await expect(page.locator(".attachment", has_text="cannot scrape the gateway")).to_be_visible()

        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shot = ARTIFACTS / "slackemu-page.png"
        await page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000
        assert errors == []

    texts = [m["text"] for m in await control.messages(oncall)]
    assert f"<@{control.bot_user_id}> hello from the browser" in texts
    assert "pong: hello from the browser" in texts
