"""Tiny slack-bolt apps the emulator tests run against it, unmodified."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from tools.harness.slackemu import SlackEmulator

APPROVE_BLOCKS: list[dict[str, Any]] = [
    {"type": "section", "block_id": "question", "text": {"type": "mrkdwn", "text": "*Deploy v2?*"}},
    {
        "type": "actions",
        "block_id": "decide",
        "elements": [
            {
                "type": "button",
                "action_id": "approve",
                "value": "v2",
                "style": "primary",
                "text": {"type": "plain_text", "text": "Approve"},
            },
            {
                "type": "button",
                "action_id": "reject",
                "value": "no",
                "text": {"type": "plain_text", "text": "Reject"},
            },
        ],
    },
]


def echo_app(emu: SlackEmulator, *, signing_secret: str | None = None) -> AsyncApp:
    """Replies `pong: <text>` in the mention's thread, answers DMs, and handles button clicks."""
    client = AsyncWebClient(token=emu.bot_token, base_url=emu.api_url)
    app = AsyncApp(client=client, signing_secret=signing_secret or emu.signing_secret)

    @app.event("app_mention")
    async def on_mention(event: dict[str, Any], say: Any) -> None:
        text = event["text"].split(">", 1)[-1].strip()
        if text == "buttons":
            await say(text="Deploy v2?", blocks=APPROVE_BLOCKS, thread_ts=event["ts"])
        else:
            await say(text=f"pong: {text}", thread_ts=event.get("thread_ts") or event["ts"])

    @app.event("message")
    async def on_dm(event: dict[str, Any], say: Any) -> None:
        if event.get("channel_type") == "im":
            await say(text=f"dm: {event['text']}")

    @app.action("approve")
    async def on_approve(ack: Any, body: dict[str, Any], respond: Any) -> None:
        await ack()
        action = body["actions"][0]
        await respond(
            text=f"approved {action['value']} by <@{body['user']['id']}> in {body['channel']['id']}",
            replace_original=True,
        )

    return app
