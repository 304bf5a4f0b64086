"""The Slack edge, outbound: the few Web API calls the gateway makes, behind a small Protocol."""

from __future__ import annotations

import time
from collections import OrderedDict
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


MAX_NAMES = 10_000


class SlackChat:
    """Chat over slack_sdk's AsyncWebClient; user names are cached for `ttl` seconds, `max_names` at most."""

    def __init__(self, client: AsyncWebClient, *, ttl: float = 3600.0, max_names: int = MAX_NAMES) -> None:
        self._client = client
        self._ttl = ttl
        self._max_names = max_names
        # Least recently used first: a workspace of many people (or many made-up ids) cannot grow it.
        self._names: OrderedDict[str, tuple[str, float]] = OrderedDict()

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
            self._names.move_to_end(user)
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
        self._names.move_to_end(user)
        while len(self._names) > self._max_names:
            self._names.popitem(last=False)
        return name

    def cached_names(self) -> int:
        """How many user names are cached now."""
        return len(self._names)
