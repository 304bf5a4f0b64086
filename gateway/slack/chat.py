"""The Slack edge, outbound: the few Web API calls the gateway makes, behind a small Protocol."""

from __future__ import annotations

import time
from typing import Protocol

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from chatops import logs
from gateway.render.slack import SlackMessage

log = logs.get_logger(__name__)


class Chat(Protocol):
    """What the gateway does in Slack."""

    async def post(self, channel: str, message: SlackMessage, thread_ts: str = "") -> str: ...

    async def update(self, channel: str, ts: str, message: SlackMessage) -> None: ...

    async def ephemeral(self, channel: str, user: str, text: str, thread_ts: str = "") -> None: ...

    async def react(self, channel: str, ts: str, name: str) -> None: ...

    async def user_name(self, user: str) -> str: ...


class SlackChat:
    """Chat over slack_sdk's AsyncWebClient; user names are cached for `ttl` seconds."""

    def __init__(self, client: AsyncWebClient, *, ttl: float = 3600.0) -> None:
        self._client = client
        self._ttl = ttl
        self._names: dict[str, tuple[str, float]] = {}

    async def post(self, channel: str, message: SlackMessage, thread_ts: str = "") -> str:
        resp = await self._client.chat_postMessage(
            channel=channel, text=message.text, blocks=list(message.blocks), thread_ts=thread_ts or None
        )
        return str(resp.get("ts", ""))

    async def update(self, channel: str, ts: str, message: SlackMessage) -> None:
        await self._client.chat_update(channel=channel, ts=ts, text=message.text, blocks=list(message.blocks))

    async def ephemeral(self, channel: str, user: str, text: str, thread_ts: str = "") -> None:
        await self._client.chat_postEphemeral(
            channel=channel, user=user, text=text, thread_ts=thread_ts or None
        )

    async def react(self, channel: str, ts: str, name: str) -> None:
        try:
            await self._client.reactions_add(channel=channel, timestamp=ts, name=name)
        except SlackApiError as exc:
            # A reaction is a nicety; losing one must not lose the reply.
            log.warning("slack.reaction_failed", error=exc.response.get("error", ""), channel=channel)

    async def user_name(self, user: str) -> str:
        """The user's display name, real name or handle; the id itself when Slack cannot say."""
        cached = self._names.get(user)
        if cached and cached[1] > time.monotonic():
            return cached[0]
        try:
            resp = await self._client.users_info(user=user)
        except SlackApiError as exc:
            log.warning("slack.users_info_failed", user=user, error=exc.response.get("error", ""))
            return user
        info = resp.get("user") or {}
        profile = info.get("profile") or {}
        name = str(profile.get("display_name") or info.get("real_name") or info.get("name") or user)
        self._names[user] = (name, time.monotonic() + self._ttl)
        return name
