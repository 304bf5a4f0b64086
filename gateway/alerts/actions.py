"""The silence buttons: ops `silences.create` as the clicking admin, then shown on the message."""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from google.protobuf.duration_pb2 import Duration
from google.protobuf.json_format import MessageToJson
from nats.aio.client import Client
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from chatops import codec, logs
from chatops.admins import is_admin
from chatops.bus import Caller, CommandError, call
from chatops.contract import command
from chatops.errors import FORBIDDEN
from chatops.subjects import ALERTS_STREAM, KV_ALERT_MESSAGES, audit_subject
from chatops.v1.alerts_pb2 import CreateSilenceRequest, Matcher
from chatops.v1.audit_pb2 import AuditEvent
from chatops.v1.events_pb2 import AlertNotification
from chatops.v1.records_pb2 import AlertMessageRecord, ChatSilence
from gateway.alerts.render import render, silence_reply
from gateway.alerts.store import MessageStore, live_silence, with_silence
from gateway.render.notes import who_may
from gateway.settings import GatewaySettings

log = logs.get_logger(__name__)

SILENCE_HOURS = {"chatops_silence_1h": 1, "chatops_silence_4h": 4}


@dataclass(frozen=True)
class SilenceClick:
    """A silence button click, translated out of Slack's block_actions payload."""

    user_id: str
    user_name: str
    channel: str
    message_ts: str
    ref: str
    hours: int


def parse_click(body: Mapping[str, Any], hours: int) -> SilenceClick | None:
    """The click, or None when the payload lacks what a silence needs."""
    try:
        user = body["user"]
        action = body["actions"][0]
        channel = (body.get("channel") or {}).get("id") or body["container"]["channel_id"]
        ts = (body.get("message") or {}).get("ts") or body["container"]["message_ts"]
        return SilenceClick(
            user_id=str(user["id"]),
            user_name=str(user.get("username") or user.get("name") or user["id"]),
            channel=str(channel),
            message_ts=str(ts),
            ref=str(action["value"]),
            hours=hours,
        )
    except (KeyError, IndexError, TypeError, AttributeError):
        return None


def silence_request(labels: Mapping[str, str], hours: int, who: str) -> CreateSilenceRequest:
    """Equality matchers on the group's common labels, for `hours` from now."""
    return CreateSilenceRequest(
        matchers=[Matcher(name=k, value=v, is_regex=False, is_equal=True) for k, v in sorted(labels.items())],
        duration=Duration(seconds=hours * 3600),
        comment=f"Silenced from chat by {who} for {hours}h",
    )


class AlertSilencer:
    """Runs a silence click: admin check, ops call, then the message and its thread say what happened."""

    def __init__(self, nc: Client, admins: tuple[str, ...], timeout: float) -> None:
        self.nc = nc
        self.admins = admins
        self.timeout = timeout

    async def _store(self) -> MessageStore:
        return MessageStore(await self.nc.jetstream().key_value(KV_ALERT_MESSAGES))

    async def _say(self, client: AsyncWebClient, click: SilenceClick, text: str) -> None:
        await client.chat_postMessage(channel=click.channel, thread_ts=click.message_ts, text=text)

    async def _audit_refusal(self, click: SilenceClick, request: CreateSilenceRequest, error: str) -> None:
        event = AuditEvent(
            actor=f"slack:{click.user_id}",
            actor_name=click.user_name,
            channel=click.channel,
            source="slack",
            command="silences.create",
            outcome="error",
            error_code=FORBIDDEN,
            error=error,
            arguments=MessageToJson(request, indent=None),
        )
        event.time.GetCurrentTime()
        await self.nc.jetstream().publish(audit_subject("silences.create"), codec.encode(event))

    async def handle(self, click: SilenceClick, client: AsyncWebClient) -> None:
        store = await self._store()
        record = await store.get(click.ref)
        if record is None:
            await self._say(client, click, "I no longer know this alert group, so I cannot silence it.")
            return
        request = silence_request(record.labels, click.hours, click.user_name)
        if not is_admin(f"slack:{click.user_id}", self.admins):
            error = f"only admins can silence alerts: {who_may(self.admins)}"
            await self._say(client, click, f"Sorry <@{click.user_id}>, {error}.")
            try:
                await self._audit_refusal(click, request, error)
            except Exception as exc:  # the refusal stands even if the audit log is unreachable
                log.warning("alerts.audit_failed", error=f"{type(exc).__name__}: {exc}")
            return
        if not record.labels:
            await self._say(
                client, click, "This group has no common labels to match, so I cannot silence it."
            )
            return
        caller = Caller(
            actor=f"slack:{click.user_id}", actor_name=click.user_name, channel=click.channel, source="slack"
        )
        try:
            reply = await call(self.nc, command("silences.create"), request, caller, timeout=self.timeout)
        except CommandError as exc:
            log.warning("alerts.silence_failed", user=click.user_id, code=exc.code, error=exc.message)
            await self._say(client, click, f"Could not silence: {exc.message}")
            return
        silenced = ChatSilence(user_id=click.user_id, silence_id=reply.silence_id, url=reply.url)
        if reply.HasField("ends_at"):
            silenced.until.CopyFrom(reply.ends_at)
        else:
            silenced.until.FromSeconds(int(time.time()) + click.hours * 3600)
        updated = await store.modify(click.ref, lambda r: with_silence(r, silenced))
        log.info("alerts.silenced", user=click.user_id, silence_id=reply.silence_id, hours=click.hours)
        if updated is not None:
            await self._rerender(client, updated, click.ref)
        await self._say(client, click, silence_reply(silenced))

    async def _rerender(self, client: AsyncWebClient, record: AlertMessageRecord, ref: str) -> None:
        """Show the silence on the message, rebuilt from the notification it shows (read from the stream)."""
        try:
            raw = await self.nc.jetstream().get_msg(ALERTS_STREAM, record.applied_seq)
            note = codec.decode(raw.data or b"", AlertNotification)
        except Exception as exc:  # the event aged out: the thread reply still says who silenced it
            log.warning("alerts.rerender_skipped", error=f"{type(exc).__name__}: {exc}")
            return
        msg = render(note, ref=ref, silenced=live_silence(record))
        await client.chat_update(
            channel=record.channel,
            ts=record.ts,
            text=msg.text,
            blocks=msg.blocks,
            attachments=msg.attachments,
        )


def _listener(silencer: AlertSilencer, hours: int) -> Callable[..., Awaitable[None]]:
    async def on_click(
        ack: Callable[[], Awaitable[Any]], body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        click = parse_click(body, hours)
        if click is None:
            log.warning("alerts.bad_click", payload_keys=json.dumps(sorted(body)))
            return
        try:
            await silencer.handle(click, client)
        except Exception:  # a button must never take the gateway down
            log.exception("alerts.silence_crashed", user=click.user_id)

    return on_click


def register_alert_actions(app: AsyncApp, nc: Client, settings: GatewaySettings) -> None:
    """Handle the silence buttons of alert messages on a slack_bolt AsyncApp."""
    silencer = AlertSilencer(nc, settings.CHATOPS_ADMINS, settings.CHATOPS_COMMAND_TIMEOUT)
    for action_id, hours in SILENCE_HOURS.items():
        app.action(action_id)(_listener(silencer, hours))
