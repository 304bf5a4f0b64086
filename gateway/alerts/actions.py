"""The buttons of alert cards: Ack / Unack (ops `alerts.ack` / `alerts.unack` as whoever clicks),
Silence 1h / 4h (ops `silences.create` as the clicking admin). The card itself changes when the event
ops appends comes back (gateway/alerts/refresher.py)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from google.protobuf.duration_pb2 import Duration
from nats.js import JetStreamContext

from chatops import logs
from chatops.admins import is_admin
from chatops.bus import Caller, CommandError
from chatops.codec import CodecError
from chatops.contract import ALERTS_ACK, ALERTS_UNACK, SILENCES_CREATE
from chatops.subjects import KV_ALERT_MESSAGES
from chatops.v1 import cards_pb2
from chatops.v1.alerts_pb2 import CreateSilenceReply, CreateSilenceRequest, Matcher
from chatops.v1.records_pb2 import ChatSilence
from gateway.alerts.render import ACK, SILENCE_HOURS, UNACK, silence_reply
from gateway.alerts.store import MessageStore, with_silence
from gateway.audit import AuditSink, refusal_event
from gateway.flow import Asker
from gateway.render.cards import ack_reply
from gateway.render.doc import Doc, Mention, Para, Text
from gateway.render.notes import who_may
from gateway.render.slack import mrkdwn, to_slack
from gateway.slack.admission import Admission
from gateway.slack.chat import Chat, person
from gateway.slack.events import ButtonClick

log = logs.get_logger(__name__)
REFUSAL = "only admins may silence alerts"


def silence_request(labels: Mapping[str, str], hours: int, who: str) -> CreateSilenceRequest:
    """Equality matchers on the group's common labels, for `hours` from now."""
    return CreateSilenceRequest(
        matchers=[Matcher(name=k, value=v, is_regex=False, is_equal=True) for k, v in sorted(labels.items())],
        duration=Duration(seconds=hours * 3600),
        comment=f"Silenced from chat by {who} for {hours}h",
    )


class AlertSilencer:
    """Runs a silence click: admin check, ops call, then the message and its thread say what happened."""

    def __init__(
        self,
        *,
        js: JetStreamContext,
        chat: Chat,
        ask: Asker,
        audit: AuditSink,
        admins: tuple[str, ...],
        changed: Callable[[set[str]], None] = lambda refs: None,
    ) -> None:
        self.js, self.chat, self.ask, self.audit, self.admins = js, chat, ask, audit, admins
        self.changed = changed  # the card shows the silence at once (the refresher draws it again)

    async def on_click(self, click: ButtonClick) -> None:
        """Handle a click on Silence 1h / 4h; anything else is not ours."""
        hours = SILENCE_HOURS.get(click.action_id)
        if hours is None:
            return
        store = MessageStore(await self.js.key_value(KV_ALERT_MESSAGES))
        record = await store.get(click.value)
        if record is None:
            await self._say(click, "I no longer know this alert group, so I cannot silence it.")
            return
        caller = await person(self.chat, click.user, click.channel)
        request = silence_request(record.labels, hours, caller.actor_name)
        if not is_admin(caller.actor, self.admins):
            await self._say(
                click, ("Sorry ", Mention(click.user), f", {REFUSAL}: ", *who_may(self.admins), ".")
            )
            try:
                await self.audit(refusal_event(SILENCES_CREATE, request, caller, REFUSAL))
            except Exception:  # the refusal stands, and is said, when the audit log is down
                log.exception("audit.refusal_not_recorded", request_id=caller.request_id)
            return
        if not record.labels:
            await self._say(click, "This group has no common labels to match, so I cannot silence it.")
            return
        reply = await self._create(request, caller)
        if isinstance(reply, str):
            await self._say(click, f"Could not silence: {reply}")
            return
        silence = ChatSilence(user_id=click.user, silence_id=reply.silence_id, url=reply.url)
        if reply.HasField("ends_at"):
            silence.until.CopyFrom(reply.ends_at)
        else:
            silence.until.FromSeconds(int(time.time()) + hours * 3600)
        updated = await store.modify(click.value, lambda r: with_silence(r, silence))
        log.info("alerts.silenced", user=click.user, silence_id=reply.silence_id, hours=hours)
        if updated is not None:
            self.changed({click.value})
        await self.chat.post(click.channel, to_slack(silence_reply(silence)), click.message_ts)

    async def _create(self, request: CreateSilenceRequest, caller: Caller) -> CreateSilenceReply | str:
        """Ops' reply, or what went wrong in words."""
        try:
            reply = await self.ask(SILENCES_CREATE, request, caller)
        except CommandError as exc:
            error = exc.message
        except CodecError as exc:
            error = f"ops sent a reply I cannot read ({exc})"
        else:
            if isinstance(reply, CreateSilenceReply):
                return reply
            error = f"ops sent a {type(reply).__name__}, not a CreateSilenceReply"
        log.warning("alerts.silence_failed", actor=caller.actor, request_id=caller.request_id, error=error)
        return error

    async def _say(self, click: ButtonClick, text: Text) -> None:
        await self.chat.post(click.channel, to_slack(Doc("", (Para(text),))), click.message_ts)


class AlertAcker:
    """Runs a click on Ack / Unack: ops records it as whoever clicked; the thread says who is on it."""

    def __init__(self, *, chat: Chat, ask: Asker, admission: Admission | None = None) -> None:
        self.chat, self.ask, self.admission = chat, ask, admission

    async def on_click(self, click: ButtonClick) -> None:
        command = {ACK: ALERTS_ACK, UNACK: ALERTS_UNACK}.get(click.action_id)
        if command is None:
            return
        refusal = self.admission.refusal(click.origin) if self.admission is not None else ""
        if refusal:
            await self.chat.ephemeral(click.channel, click.user, mrkdwn(refusal), click.message_ts)
            return
        caller = await person(self.chat, click.user, click.channel)
        try:
            reply = await self.ask(command, cards_pb2.AckAlertRequest(alert=click.value), caller)
        except (CommandError, CodecError) as exc:
            error = (
                exc.message if isinstance(exc, CommandError) else f"ops sent a reply I cannot read ({exc})"
            )
            log.warning("alerts.ack_failed", actor=caller.actor, request_id=caller.request_id, error=error)
            await self.chat.ephemeral(
                click.channel, click.user, mrkdwn(f"Could not do that: {error}"), click.message_ts
            )
            return
        if not isinstance(reply, cards_pb2.AckAlertReply):
            return
        doc = ack_reply(reply)
        if reply.outcome in (cards_pb2.ACK_OUTCOME_ACKED, cards_pb2.ACK_OUTCOME_UNACKED):
            await self.chat.post(click.channel, to_slack(doc), click.message_ts)  # everyone sees who is on it
        else:
            await self.chat.ephemeral(click.channel, click.user, to_slack(doc).text, click.message_ts)
        log.info("alerts.acked", user=click.user, ref=reply.ref, outcome=reply.outcome)
