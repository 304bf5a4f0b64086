"""The Slack edge, outbound: the few Web API calls the gateway makes, behind a small Protocol.

Slack's errors are translated here into ChatError, so nothing past the edge reads a Slack response.
"""

from __future__ import annotations

import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

import aiohttp
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from chatops import actors, logs
from chatops.bus import Caller
from gateway.flow import new_traceparent
from gateway.render.slack import SlackMessage, SlackUpload

log = logs.get_logger(__name__)

# Slack errors that say "try again later" even when the HTTP status is 200.
TRANSIENT_ERRORS = frozenset({"internal_error", "fatal_error", "service_unavailable", "request_timeout"})
# chat.update errors after which posting a fresh message is the only way to show it.
MESSAGE_GONE = frozenset({"message_not_found", "cant_update_message", "edit_window_closed"})
# The message itself is refused (its blocks, attachments, size or metadata): send it plainer.
PAYLOAD_ERRORS = frozenset(
    {
        "invalid_blocks",
        "invalid_blocks_format",
        "msg_blocks_too_long",
        "msg_too_long",
        "invalid_attachments",
        "too_many_attachments",
        "no_text",
        "invalid_metadata_format",
        "invalid_metadata_schema",
        "metadata_too_large",
    }
)
# The bot may not post in this channel until a person changes something (invite it, unarchive).
CHANNEL_ERRORS = frozenset(
    {
        "not_in_channel",
        "channel_not_found",
        "is_archived",
        "restricted_action",
        "restricted_action_read_only_channel",
        "restricted_action_thread_only_channel",
        "restricted_action_non_threadable_channel",
        "team_access_not_granted",
        "cannot_reply_to_message",
    }
)
# The bot's token cannot be used anywhere until a person fixes it (reinstall, scopes, a new token).
AUTH_ERRORS = frozenset(
    {
        "not_authed",
        "invalid_auth",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "no_permission",
        "missing_scope",
        "not_allowed_token_type",
        "org_login_required",
        "ekm_access_denied",
        "access_denied",
        "two_factor_setup_required",
        "enterprise_is_restricted",
    }
)


class Failure(StrEnum):
    """What a failed chat call means for whoever made it."""

    RATE_LIMITED = "rate_limited"  # wait `retry_after` seconds, then try again
    UNAVAILABLE = "unavailable"  # the chat service or the way to it failed for a moment (maybe done)
    GONE = "gone"  # the message to update no longer exists or cannot be changed
    PAYLOAD = "payload"  # this message is refused (blocks, size, metadata): a plainer one may pass
    CHANNEL = "channel"  # not in this channel until someone invites the bot, unarchives it, …
    AUTH = "auth"  # not anywhere until someone fixes the token or the app's scopes
    REFUSED = "refused"  # the chat service says no, for a reason not known here


class ChatError(Exception):
    """A chat call that failed, in the gateway's own terms; `detail` is the service's error name."""

    def __init__(self, failure: Failure, detail: str, retry_after: float = 0.0) -> None:
        super().__init__(f"{failure}: {detail}")
        self.failure = failure
        self.detail = detail
        self.retry_after = retry_after


@dataclass(frozen=True)
class Tag:
    """A machine-readable mark on a posted message, so that it can be found again (Slack's metadata)."""

    kind: str  # e.g. "chatops_alert"
    id: str  # e.g. the notification id

    def to_slack(self) -> dict[str, Any]:
        return {"event_type": self.kind, "event_payload": {"id": self.id}}

    def marks(self, message: Mapping[str, Any]) -> bool:
        """Whether a message as Slack returns it (with include_all_metadata) carries this tag."""
        metadata = message.get("metadata")
        if not isinstance(metadata, Mapping) or metadata.get("event_type") != self.kind:
            return False
        payload = metadata.get("event_payload")
        return isinstance(payload, Mapping) and payload.get("id") == self.id


@dataclass(frozen=True)
class Posted:
    """Where a posted message is: the channel id (Slack's, even when posted by name) and its ts."""

    channel: str
    ts: str


class Chat(Protocol):
    """What the gateway does in the chat; calls raise ChatError."""

    async def post(self, channel: str, message: SlackMessage, thread_ts: str = "") -> Posted: ...

    async def upload(self, channel: str, upload: SlackUpload, thread_ts: str = "") -> str: ...

    async def update(self, channel: str, ts: str, message: SlackMessage) -> None: ...

    async def ephemeral(self, channel: str, user: str, text: str, thread_ts: str = "") -> None:
        """Show `text` to `user` only; it is mrkdwn the renderer made (gateway.render.slack.mrkdwn)."""

    async def react(self, channel: str, ts: str, name: str) -> None: ...

    async def user_name(self, user: str) -> str: ...


class TaggedChat(Chat, Protocol):
    """Chat whose posts can carry a Tag and be found again by it: what exactly-once delivery needs."""

    async def post(
        self, channel: str, message: SlackMessage, thread_ts: str = "", tag: Tag | None = None
    ) -> Posted: ...

    async def find(self, channel: str, tag: Tag, *, thread_ts: str = "", oldest: float = 0.0) -> str | None:
        """The ts of our message with `tag` in the channel since `oldest` (or in the thread), if any."""


async def person(chat: Chat, user: str, channel: str) -> Caller:
    """The Caller for a Slack user acting in `channel` (a message or a click), on a trace of its own."""
    return Caller(
        actor=actors.slack(user),
        actor_name=await chat.user_name(user),
        channel=channel,
        source="slack",
        traceparent=new_traceparent(),
    )


def chat_error(exc: SlackApiError) -> ChatError:
    """Slack's answer -> ChatError: 429 waits Retry-After, 5xx and transient errors retry, else refused."""
    response = exc.response
    status = int(getattr(response, "status_code", 0) or 0)
    data = getattr(response, "data", None)
    error = str(data.get("error", "")) if isinstance(data, Mapping) else ""
    detail = error or f"http {status}"
    if status == 429 or error == "ratelimited":
        raw = _header(getattr(response, "headers", None), "Retry-After")
        after = float(raw) if raw.replace(".", "", 1).isdigit() else 1.0
        return ChatError(Failure.RATE_LIMITED, "ratelimited", retry_after=after)
    if status >= 500 or error in TRANSIENT_ERRORS:
        return ChatError(Failure.UNAVAILABLE, detail)
    if error in MESSAGE_GONE:
        return ChatError(Failure.GONE, detail)
    for failure, errors in (
        (Failure.PAYLOAD, PAYLOAD_ERRORS),
        (Failure.CHANNEL, CHANNEL_ERRORS),
        (Failure.AUTH, AUTH_ERRORS),
    ):
        if error in errors:
            return ChatError(failure, detail)
    return ChatError(Failure.REFUSED, detail)


def _header(headers: Any, name: str) -> str:
    if isinstance(headers, Mapping):
        for key, value in headers.items():
            if str(key).lower() == name.lower():
                return str(value[0] if isinstance(value, list) and value else value)
    return ""


async def _api(call: Awaitable[AsyncSlackResponse]) -> AsyncSlackResponse:
    try:
        return await call
    except SlackApiError as exc:
        raise chat_error(exc) from exc
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        raise ChatError(Failure.UNAVAILABLE, type(exc).__name__) from exc


MAX_NAMES = 10_000
FIND_LIMIT = 200  # messages per page when looking for a tagged post
FIND_PAGES = 3
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")


def _tagged(messages: list[Any], tag: Tag) -> str | None:
    for message in messages:
        if isinstance(message, Mapping) and tag.marks(message):
            return str(message.get("ts", "")) or None
    return None


class SlackChat:
    """Chat over slack_sdk's AsyncWebClient; user names are cached for `ttl` seconds, `max_names` at most."""

    def __init__(self, client: AsyncWebClient, *, ttl: float = 3600.0, max_names: int = MAX_NAMES) -> None:
        self._client = client
        self._ttl = ttl
        self._max_names = max_names
        # Least recently used first: a workspace of many people (or many made-up ids) cannot grow it.
        self._names: OrderedDict[str, tuple[str, float]] = OrderedDict()

    async def post(
        self, channel: str, message: SlackMessage, thread_ts: str = "", tag: Tag | None = None
    ) -> Posted:
        resp = await _api(
            self._client.chat_postMessage(
                channel=channel,
                text=message.text,
                blocks=list(message.blocks),
                attachments=list(message.attachments) or None,
                thread_ts=thread_ts or None,
                unfurl_links=False,
                metadata=tag.to_slack() if tag is not None else None,
            )
        )
        return Posted(str(resp.get("channel") or channel), str(resp.get("ts", "")))

    async def find(self, channel: str, tag: Tag, *, thread_ts: str = "", oldest: float = 0.0) -> str | None:
        """Look back a bounded way: the thread's first FIND_LIMIT replies, or FIND_PAGES pages of the
        channel's history since `oldest`. Without the scope to read history, say "not found"."""
        if not _CHANNEL_ID.match(channel):
            # History is read by channel id only; a channel given by name cannot be looked through.
            log.warning("slack.find_needs_channel_id", channel=channel)
            return None
        try:
            if thread_ts:
                resp = await _api(
                    self._client.conversations_replies(
                        channel=channel, ts=thread_ts, limit=FIND_LIMIT, include_all_metadata=True
                    )
                )
                return _tagged(resp.get("messages") or [], tag)
            cursor = None
            for _ in range(FIND_PAGES):
                resp = await _api(
                    self._client.conversations_history(
                        channel=channel,
                        oldest=f"{max(0.0, oldest):.6f}",
                        limit=FIND_LIMIT,
                        include_all_metadata=True,
                        cursor=cursor,
                    )
                )
                found = _tagged(resp.get("messages") or [], tag)
                cursor = (resp.get("response_metadata") or {}).get("next_cursor")
                if found or not resp.get("has_more") or not cursor:
                    return found
        except ChatError as exc:
            if exc.detail != "missing_scope":
                raise
            # Without channels:history we cannot look: posting again risks a duplicate, not a loss.
            log.warning("slack.find_not_allowed", channel=channel, error=exc.detail)
        return None

    async def upload(self, channel: str, upload: SlackUpload, thread_ts: str = "") -> str:
        """Share a file into the channel (or thread) with its message; returns the file id.

        Slack's external upload flow, which slack_sdk's files_upload_v2 runs: files.getUploadURLExternal,
        a POST of the bytes to the URL it returns, then files.completeUploadExternal with channel_id and
        thread_ts. The older files.upload is retired.
        """
        try:
            resp = await _api(
                self._client.files_upload_v2(
                    channel=channel,
                    thread_ts=thread_ts or None,
                    file=upload.data,
                    filename=upload.filename,
                    title=upload.title,
                    alt_txt=upload.alt_text,
                    initial_comment=upload.comment,
                )
            )
        except SlackRequestError as exc:  # the POST of the bytes to the upload URL was not answered 200
            raise ChatError(Failure.UNAVAILABLE, "the file upload was refused") from exc
        files = resp.get("files") or []
        return str(files[0].get("id", "")) if files else ""

    async def update(self, channel: str, ts: str, message: SlackMessage) -> None:
        await _api(
            self._client.chat_update(
                channel=channel,
                ts=ts,
                text=message.text,
                blocks=list(message.blocks),
                attachments=list(message.attachments) or None,
            )
        )

    async def ephemeral(self, channel: str, user: str, text: str, thread_ts: str = "") -> None:
        await _api(
            self._client.chat_postEphemeral(
                channel=channel, user=user, text=text, thread_ts=thread_ts or None
            )
        )

    async def react(self, channel: str, ts: str, name: str) -> None:
        try:
            await _api(self._client.reactions_add(channel=channel, timestamp=ts, name=name))
        except ChatError as exc:
            # A reaction is a nicety; losing one must not lose the reply.
            log.warning("slack.reaction_failed", error=exc.detail, channel=channel)

    def cached_name(self, user: str) -> str | None:
        """The user's name if it is cached and fresh (no call to Slack), else None."""
        cached = self._names.get(user)
        if cached and cached[1] > time.monotonic():
            self._names.move_to_end(user)
            return cached[0]
        return None

    async def user_name(self, user: str) -> str:
        """The user's display name, real name or handle; the id itself when Slack cannot say."""
        cached = self.cached_name(user)
        if cached is not None:
            return cached
        try:
            resp = await _api(self._client.users_info(user=user))
        except ChatError as exc:
            log.warning("slack.users_info_failed", user=user, error=exc.detail)
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
