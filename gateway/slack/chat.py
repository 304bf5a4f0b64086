"""The Slack edge, outbound: the few Web API calls the gateway makes, behind a small Protocol."""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Protocol

import aiohttp
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.web.async_client import AsyncWebClient

from chatops import logs
from gateway.render.slack import SlackMessage, SlackUpload

log = logs.get_logger(__name__)


class UploadFailed(Exception):
    """Slack did not take a file; the message is Slack's error name or the HTTP failure."""


class Chat(Protocol):
    """What the gateway does in Slack."""

    async def post(self, channel: str, message: SlackMessage, thread_ts: str = "") -> str: ...

    async def upload(self, channel: str, upload: SlackUpload, thread_ts: str = "") -> str: ...

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

    async def upload(self, channel: str, upload: SlackUpload, thread_ts: str = "") -> str:
        """Share a file into the channel (or thread) with its message; returns the file id.

        Slack's external upload flow, which slack_sdk's files_upload_v2 runs: files.getUploadURLExternal,
        a POST of the bytes to the URL it returns, then files.completeUploadExternal with channel_id and
        thread_ts. The older files.upload is retired.
        """
        try:
            resp = await self._client.files_upload_v2(
                channel=channel,
                thread_ts=thread_ts or None,
                file=upload.data,
                filename=upload.filename,
                title=upload.title,
                alt_txt=upload.alt_text,
                initial_comment=upload.comment,
            )
        except SlackApiError as exc:
            raise UploadFailed(str(exc.response.get("error", "") or "error")) from None
        except SlackRequestError as exc:  # the POST of the bytes was refused
            raise UploadFailed(str(exc)) from None
        except (aiohttp.ClientError, TimeoutError) as exc:  # the upload URL could not be reached
            raise UploadFailed(f"{type(exc).__name__}: {exc}") from None
        files = resp.get("files") or []
        return str(files[0].get("id", "")) if files else ""

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
