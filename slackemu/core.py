"""The emulator's parts wired together: workspace, faults, rate limit, request log, delivery."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chatops import logs
from slackemu import payloads
from slackemu.deliveries import Delivery, DeliveryLog
from slackemu.events_http import HttpEvents
from slackemu.faults import Fault, FaultBook
from slackemu.files import FileStore
from slackemu.limits import ChannelRateLimit
from slackemu.socketmode import SocketHub
from slackemu.state import JsonDict, Message, NotFound, Workspace, default_workspace

log = logs.get_logger(__name__)
MAX_REQUESTS = 5000
MAX_RESPONSE_URLS = 1000


@dataclass(frozen=True)
class Config:
    """Everything the emulator is started with."""

    base_url: str
    bot_token: str
    app_token: str
    signing_secret: str
    verification_token: str
    request_url: str = ""
    ack_timeout: float = 3.0
    max_retries: int = 3
    http_timeout: float = 3.0
    retry_delay: float = 1.0
    rate_per_sec: float = 1.0
    rate_burst: float = 4.0
    # The one incoming webhook: its secret (the last part of its URL; empty: none) and its channel.
    webhook_secret: str = ""
    webhook_channel: str = "oncall"

    @property
    def ws_base(self) -> str:
        return "ws" + self.base_url.removeprefix("http")


@dataclass(frozen=True)
class ResponseTarget:
    """What a response_url refers to: the clicked message and who clicked."""

    channel: str
    message_ts: str
    user: str


@dataclass
class Emulator:
    """One emulated Slack team and its app connection."""

    config: Config
    workspace: Workspace = field(default_factory=default_workspace)
    faults: FaultBook = field(default_factory=FaultBook)
    deliveries: DeliveryLog = field(default_factory=DeliveryLog)
    requests: list[JsonDict] = field(default_factory=list)
    response_urls: dict[str, ResponseTarget] = field(default_factory=dict)
    request_url: str = ""
    revoked: set[str] = field(default_factory=set)  # token kinds ("bot", "app") answered token_revoked
    now: Callable[[], float] = time.monotonic
    rate: ChannelRateLimit = field(init=False)
    sockets: SocketHub = field(init=False)
    http: HttpEvents = field(init=False)
    files: FileStore = field(init=False)

    def __post_init__(self) -> None:
        cfg = self.config
        self.request_url = cfg.request_url
        self.files = FileStore(cfg.base_url, self.workspace.team_id)
        self.rate = ChannelRateLimit(cfg.rate_per_sec, cfg.rate_burst)
        self.sockets = SocketHub(
            self.workspace,
            self.deliveries,
            ack_timeout=cfg.ack_timeout,
            max_retries=cfg.max_retries,
            refuse=lambda: self.faults.active("socket_drop", self.now()),
            duplicate=lambda: self.faults.take("socket_duplicate", "events_api", self.now()) is not None,
        )
        self.http = HttpEvents(
            self.deliveries,
            signing_secret=cfg.signing_secret,
            verification_token=cfg.verification_token,
            timeout=cfg.http_timeout,
            max_retries=cfg.max_retries,
            retry_delay=cfg.retry_delay,
        )

    # -- request log ------------------------------------------------------------------------------
    def record(self, entry: JsonDict) -> None:
        self.requests.append(entry)
        if len(self.requests) > MAX_REQUESTS:
            del self.requests[: len(self.requests) - MAX_REQUESTS]

    # -- delivery to the app ----------------------------------------------------------------------
    def deliver(self, kind: str, payload: JsonDict) -> Delivery:
        """Events API over HTTP when a request URL is set, Socket Mode otherwise."""
        if self.request_url:
            return self.http.send(self.request_url, kind, payload)
        return self.sockets.send(kind, payload)

    def user_posts(self, user_id: str, channel_ref: str, text: str, thread_ts: str | None) -> Message:
        """A human posts; a mention of the bot or a DM to it becomes an event for the app."""
        if self.workspace.user(user_id).is_bot:
            raise ValueError("post as a human user; the bot posts through the Web API")
        msg = self.workspace.post(channel_ref, user_id, text, thread_ts=thread_ts)
        channel = self.workspace.channel(msg.channel)
        event = payloads.event_for_message(self.workspace, channel, msg)
        if event is not None:
            self.deliver(
                "events_api", payloads.event_callback(self.workspace, event, self.config.verification_token)
            )
        return msg

    def click(
        self, user_id: str, channel_ref: str, message_ts: str, action_id: str, value: str | None
    ) -> Delivery:
        """A human clicks a button: a block_actions interaction goes to the app."""
        ws = self.workspace
        user, channel = ws.user(user_id), ws.channel(channel_ref)
        msg = ws.message(channel.id, message_ts)
        key = secrets.token_urlsafe(18)
        try:
            payload = payloads.block_actions(
                ws,
                user,
                channel,
                msg,
                action_id,
                value,
                response_url=f"{self.config.base_url}/actions/{key}",
                token=self.config.verification_token,
            )
        except KeyError:
            raise NotFound(
                "action_not_found", f"no element with action_id {action_id!r} in message {message_ts}"
            ) from None
        self.response_urls[key] = ResponseTarget(channel.id, msg.ts, user.id)
        while len(self.response_urls) > MAX_RESPONSE_URLS:  # the oldest expire, as in Slack
            del self.response_urls[next(iter(self.response_urls))]
        return self.deliver("interactive", payload)

    def respond(self, key: str, body: JsonDict) -> None:
        """Apply a POST to a response_url: replace, delete, or add a message."""
        target = self.response_urls.get(key)
        if target is None:
            raise NotFound("expired_url", "unknown response_url")
        ws = self.workspace
        text = str(body.get("text", ""))
        blocks = body.get("blocks")
        blocks = blocks if isinstance(blocks, list) else None
        if body.get("delete_original"):
            ws.delete(target.channel, target.message_ts)
        elif body.get("replace_original"):  # replaces the whole message, blocks too
            ws.update(target.channel, target.message_ts, text=text, blocks=blocks or [])
        else:
            ephemeral = None if body.get("response_type") == "in_channel" else target.user
            thread = body.get("thread_ts")
            ws.post(
                target.channel,
                ws.bot_user_id,
                text,
                blocks=blocks or (),
                thread_ts=str(thread) if thread else None,
                ephemeral_to=ephemeral,
            )

    # -- faults -----------------------------------------------------------------------------------
    async def add_fault(self, fault: Fault) -> None:
        """Switch a fault on; socket_drop closes every socket now and, with `seconds`, refuses new ones."""
        log.info("fault.added", kind=fault.kind, methods=",".join(fault.methods) or "*", count=fault.count)
        if fault.kind == "socket_drop":
            await self.sockets.drop()
            if fault.until is None:
                return  # a one-off blip: clients may reconnect at once
        self.faults.add(fault)

    async def close(self) -> None:
        await self.sockets.close()
        await self.http.close()


def state_json(emu: Emulator) -> dict[str, Any]:
    """The control API's view of the emulator: ids, names and modes, never a token."""
    out = emu.workspace.snapshot()
    out.update(
        {
            "request_url": emu.request_url,
            "mode": "http" if emu.request_url else "socket",
            "socket_connections": emu.sockets.connections,
            "faults": emu.faults.to_json(emu.now()),
            "revoked_tokens": sorted(emu.revoked),
            "api_url": emu.config.base_url + "/api/",
        }
    )
    return out
