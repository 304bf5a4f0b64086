"""EmulatorControl: the async Python client of the emulator's control API, for tests and tools."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import aiohttp

Predicate = Callable[[dict[str, Any]], bool]


class ControlError(RuntimeError):
    """The control API refused a request; the message says why."""


class EmulatorControl:
    """Drive the emulator as its humans would, and look at what the app did."""

    def __init__(self, base_url: str, *, poll_interval: float = 0.1) -> None:
        self.base_url = base_url.rstrip("/")
        self._poll = poll_interval
        self._session: aiohttp.ClientSession | None = None
        self._state: dict[str, Any] | None = None
        # (channel, ts) of bot messages wait_for_message already returned, so "next" means next.
        self._seen: set[tuple[str, str]] = set()

    async def __aenter__(self) -> EmulatorControl:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        return self._session

    async def _call(
        self, method: str, path: str, body: dict[str, Any] | None = None, params: dict[str, str] | None = None
    ) -> dict[str, Any]:
        url = f"{self.base_url}{path}"
        async with self._http().request(method, url, json=body, params=params) as resp:
            data: dict[str, Any] = await resp.json(content_type=None)
        if not data.get("ok"):
            raise ControlError(f"{method} {path}: {data.get('error', resp.status)}")
        return data

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    # -- the workspace ----------------------------------------------------------------------------
    async def state(self) -> dict[str, Any]:
        """Team, app and bot ids, users and channels, mode, faults (never tokens)."""
        self._state = await self._call("GET", "/control/state")
        return self._state

    @property
    def bot_user_id(self) -> str:
        """The bot's user id (call `state()` or any lookup first; the id never changes)."""
        if self._state is None:
            raise ControlError("call `await control.state()` once before reading bot_user_id")
        return str(self._state["bot_user_id"])

    async def user_id(self, name: str) -> str:
        for user in (await self.state())["users"]:
            if user["name"] == name:
                return str(user["id"])
        raise ControlError(f"no user named {name!r}")

    async def channel_id(self, name: str) -> str:
        for channel in (await self.state())["channels"]:
            if channel["name"] == name.lstrip("#") and not channel["is_im"]:
                return str(channel["id"])
        raise ControlError(f"no channel named {name!r}")

    async def create_user(self, name: str, real_name: str | None = None, team_id: str | None = None) -> str:
        """A new member; with another `team_id`, a Slack Connect guest from that workspace."""
        body = {"name": name, "real_name": real_name, **({"team_id": team_id} if team_id else {})}
        data = await self._call("POST", "/control/users", body)
        return str(data["user"]["id"])

    async def create_channel(self, name: str) -> str:
        data = await self._call("POST", "/control/channels", {"name": name})
        return str(data["channel"]["id"])

    async def set_bot_member(self, channel_id: str, member: bool) -> None:
        """Remove the bot from the channel (posts answer not_in_channel) or invite it back."""
        await self._call("PATCH", f"/control/channels/{channel_id}", {"bot_member": member})

    async def set_archived(self, channel_id: str, archived: bool) -> None:
        """Archive the channel (posts answer is_archived) or unarchive it."""
        await self._call("PATCH", f"/control/channels/{channel_id}", {"archived": archived})

    async def set_token_revoked(self, kind: str, revoked: bool) -> None:
        """Revoke the "bot" or "app" token (calls answer token_revoked), or restore it."""
        await self._call("PUT", f"/control/tokens/{kind}", {"revoked": revoked})

    async def open_im(self, user_id: str) -> str:
        """The id of the DM between `user_id` and the bot; messages there become message.im."""
        data = await self._call("POST", "/control/ims", {"user_id": user_id})
        return str(data["channel"]["id"])

    # -- acting as a human ------------------------------------------------------------------------
    async def post_message(
        self, user_id: str, channel_id: str, text: str, thread_ts: str | None = None
    ) -> str:
        """Post as a human; returns the message ts. `<@BOT>` mentions reach the app as app_mention."""
        body = {"user_id": user_id, "channel_id": channel_id, "text": text, "thread_ts": thread_ts}
        return str((await self._call("POST", "/control/messages", body))["ts"])

    async def mention(self, user_id: str, channel_id: str, text: str, thread_ts: str | None = None) -> str:
        """Post `<@bot> text` as a human."""
        if self._state is None:
            await self.state()
        return await self.post_message(user_id, channel_id, f"<@{self.bot_user_id}> {text}", thread_ts)

    async def click_button(
        self, user_id: str, channel_id: str, message_ts: str, action_id: str, value: str | None = None
    ) -> str:
        """Click the button with `action_id` in a message; returns the delivery id."""
        body = {
            "user_id": user_id,
            "channel_id": channel_id,
            "message_ts": message_ts,
            "action_id": action_id,
            "value": value,
        }
        return str((await self._call("POST", "/control/actions", body))["delivery_id"])

    # -- looking ----------------------------------------------------------------------------------
    async def messages(self, channel_id: str) -> list[dict[str, Any]]:
        """Every message of a channel in order, thread replies, edits and ephemerals included."""
        data = await self._call("GET", "/control/messages", params={"channel": channel_id})
        return list(data["messages"])

    async def wait_for_message(
        self,
        channel_id: str,
        *,
        thread_ts: str | None = None,
        predicate: Predicate | None = None,
        timeout: float = 20.0,
    ) -> dict[str, Any]:
        """The next bot message in the channel (or that thread) that this client has not returned yet."""
        if self._state is None:
            await self.state()
        deadline = time.monotonic() + timeout
        while True:
            for msg in await self.messages(channel_id):
                key = (channel_id, msg["ts"])
                if (
                    msg["user"] != self.bot_user_id
                    or key in self._seen
                    or msg["deleted"]
                    or (thread_ts is not None and msg.get("thread_ts") != thread_ts)
                    or (thread_ts is not None and msg["ts"] == thread_ts)
                ):
                    continue
                if predicate is None or predicate(msg):
                    self._seen.add(key)
                    return msg
            if time.monotonic() > deadline:
                where = f"thread {thread_ts}" if thread_ts else "channel"
                raise TimeoutError(f"no new bot message in {channel_id} ({where}) within {timeout}s")
            await asyncio.sleep(self._poll)

    async def wait_for_update(
        self,
        channel_id: str,
        ts: str,
        *,
        predicate: Predicate | None = None,
        timeout: float = 20.0,
    ) -> dict[str, Any]:
        """The message at `ts` once it has been edited (chat.update) and matches `predicate`."""
        deadline = time.monotonic() + timeout
        while True:
            for msg in await self.messages(channel_id):
                if msg["ts"] == ts and msg["history"] and (predicate is None or predicate(msg)):
                    return msg
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"message {ts} in {channel_id} was not updated as expected within {timeout}s"
                )
            await asyncio.sleep(self._poll)

    async def requests(self, method: str | None = None) -> list[dict[str, Any]]:
        """The Web API request log (tokens never included), optionally for one method."""
        params = {"method": method} if method else None
        return list((await self._call("GET", "/control/requests", params=params))["requests"])

    async def clear_requests(self) -> None:
        await self._call("DELETE", "/control/requests")

    async def deliveries(self) -> list[dict[str, Any]]:
        """Every envelope or POST sent to the app, with attempts, retry fields and acks."""
        return list((await self._call("GET", "/control/deliveries"))["deliveries"])

    # -- faults and modes -------------------------------------------------------------------------
    async def set_fault(
        self,
        kind: str,
        *,
        methods: list[str] | None = None,
        count: int | None = None,
        seconds: float | None = None,
        retry_after: int = 1,
        delay: float = 0.0,
    ) -> None:
        """Switch on "ratelimited" (429), "server_error" (500), "invalid_blocks", "slow" (the answer
        `delay` seconds late), "socket_drop" or "socket_duplicate" (slackemu/README.md)."""
        body = {
            "kind": kind,
            "methods": methods or [],
            "count": count,
            "seconds": seconds,
            "retry_after": retry_after,
            "delay": delay,
        }
        await self._call("POST", "/control/faults", body)

    async def clear_faults(self) -> None:
        await self._call("DELETE", "/control/faults")

    async def disconnect_sockets(self, reason: str = "refresh_requested") -> int:
        """Send Socket Mode `disconnect` to every connection; returns how many got it."""
        data = await self._call("POST", "/control/socket/disconnect", {"reason": reason})
        return int(data["connections"])

    async def set_request_url(self, url: str) -> dict[str, Any] | None:
        """Switch to HTTP mode (empty: back to Socket Mode); answers the url_verification result."""
        data = await self._call("PUT", "/control/request_url", {"url": url})
        verification: dict[str, Any] | None = data["verification"]
        return verification

    async def verify_request_url(self) -> dict[str, Any]:
        data = await self._call("POST", "/control/request_url/verify")
        verification: dict[str, Any] = data["verification"]
        return verification

    async def wait_connected(self, count: int = 1, timeout: float = 20.0) -> None:
        """Wait until the app has `count` Socket Mode connections open."""
        deadline = time.monotonic() + timeout
        while (await self.state())["socket_connections"] < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"fewer than {count} socket connections after {timeout}s")
            await asyncio.sleep(self._poll)
