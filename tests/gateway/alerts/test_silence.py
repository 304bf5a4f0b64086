"""The Silence buttons through the gateway's own seams: real NATS, a recording Chat, an Asker playing ops."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from google.protobuf.message import Message
from nats.aio.client import Client

from chatops.bus import Caller
from chatops.contract import Command
from chatops.subjects import KV_ALERT_MESSAGES, KV_CONFIRMATIONS, KV_SEEN_EVENTS
from chatops.v1 import alerts_pb2, audit_pb2
from chatops.v1.records_pb2 import AlertMessageRecord
from gateway.alerts import AlertSilencer
from gateway.alerts.render import SILENCE_1H
from gateway.alerts.store import MessageStore, group_ref
from gateway.confirmations import Confirmations
from gateway.metrics import GatewayMetrics
from gateway.seen import SeenEvents
from gateway.slack.blocks import CONFIRM
from gateway.slack.events import ButtonClick, ChatMessage
from gateway.slack.handlers import SlackGateway
from tests.gateway.test_handlers import RecordingChat
from tools.harness.alerts import fixture, store

ADMIN, VISITOR = "U123", "U999"


@dataclass
class PlayingOps:
    """An Asker that answers silences.create as ops would and remembers who asked for what."""

    asked: list[tuple[str, Message, Caller]] = field(default_factory=list)

    async def __call__(self, command: Command[Any, Any], request: Message, caller: Caller) -> Any:
        self.asked.append((command.name, request, caller))
        reply = alerts_pb2.CreateSilenceReply(silence_id="s1", url="http://am/#/silences/s1")
        reply.ends_at.GetCurrentTime()
        reply.ends_at.seconds += 3600
        return reply


@dataclass
class Parts:
    chat: RecordingChat
    ops: PlayingOps
    audited: list[audit_pb2.AuditEvent]
    silencer: AlertSilencer
    gateway: SlackGateway
    ref: str
    ts: str
    changed: set[str]


async def parts(nc: Client, admins: tuple[str, ...]) -> Parts:
    """An alert group posted as message 1.1 in C1, and the silencer and command gateway of one replica."""
    js = nc.jetstream()
    body = fixture("webhook-01-firing-AlwaysFiring.json")
    seq = await store(nc, body)
    ref = group_ref(body["groupKey"])
    record = AlertMessageRecord(channel="C1", ts="1.1", group_key=body["groupKey"], applied_seq=seq)
    record.replied_seq = seq
    record.labels.update(body["commonLabels"])
    await MessageStore(await js.key_value(KV_ALERT_MESSAGES)).write(ref, record, 0)
    chat, ops, audited = RecordingChat(), PlayingOps(), []

    async def audit(event: audit_pb2.AuditEvent) -> None:
        audited.append(event)

    changed: set[str] = set()
    silencer = AlertSilencer(js=js, chat=chat, ask=ops, audit=audit, admins=admins, changed=changed.update)
    gateway = SlackGateway(
        chat=chat,
        ask=ops,
        seen=SeenEvents(await js.key_value(KV_SEEN_EVENTS)),
        confirmations=Confirmations(await js.key_value(KV_CONFIRMATIONS)),
        audit=audit,
        admins=admins,
        confirm_ttl=300,
        metrics=GatewayMetrics(),
    )
    return Parts(chat, ops, audited, silencer, gateway, ref, "1.1", changed)


def click(p: Parts, user: str, action: str = SILENCE_1H) -> ButtonClick:
    return ButtonClick(action, p.ref, user, "C1", p.ts)


async def test_an_admin_listed_as_slack_actor_silences_with_the_button_and_from_chat(js_ready):
    p = await parts(js_ready, (f"slack:{ADMIN}",))
    await p.silencer.on_click(click(p, ADMIN))
    [(name, request, caller)] = p.ops.asked
    assert (name, caller.actor, caller.source) == ("silences.create", f"slack:{ADMIN}", "slack")
    assert isinstance(request, alerts_pb2.CreateSilenceRequest)
    assert ("alertname", "AlwaysFiring") in [(m.name, m.value) for m in request.matchers]
    assert request.duration.seconds == 3600
    # The card is drawn again by the refresher (tests/gateway/alerts/test_cards.py), not here.
    assert p.changed == {p.ref} and p.chat.updates == []
    assert f"<@{ADMIN}> silenced this group until" in p.chat.posts[-1][2]
    record = await MessageStore(await js_ready.jetstream().key_value(KV_ALERT_MESSAGES)).get(p.ref)
    assert record is not None and record.silence.silence_id == "s1"

    said = ChatMessage("e1", ADMIN, "C2", "silence alertname=AlwaysFiring for=1h", "2.1", "2.1", False)
    await p.gateway.on_message(said)
    assert p.chat.posts[-1][2].startswith("Run `silence alertname=AlwaysFiring for=1h`?")
    pending_id = (await (await js_ready.jetstream().key_value(KV_CONFIRMATIONS)).keys())[0]
    await p.gateway.on_click(ButtonClick(CONFIRM, pending_id, ADMIN, "C2", "9.9"))
    assert [(n, c.actor) for n, _, c in p.ops.asked] == [("silences.create", f"slack:{ADMIN}")] * 2
    assert p.audited == []  # nothing was refused


async def test_a_bare_slack_id_in_the_admins_is_the_same_person(js_ready):
    p = await parts(js_ready, (ADMIN,))
    await p.silencer.on_click(click(p, ADMIN))
    assert len(p.ops.asked) == 1


async def test_a_refused_click_names_the_admins_as_mentions_and_is_audited(js_ready):
    p = await parts(js_ready, (f"slack:{ADMIN}", "console:root"))
    await p.silencer.on_click(click(p, VISITOR))
    assert p.ops.asked == [] and p.chat.updates == []
    [(channel, thread, text)] = p.chat.posts
    assert (channel, thread) == ("C1", p.ts)
    assert text == f"Sorry <@{VISITOR}>, only admins may silence alerts: <@{ADMIN}>, console:root."
    assert "slack:" not in text
    [event] = p.audited
    assert (event.actor, event.command, event.outcome, event.error_code) == (
        f"slack:{VISITOR}",
        "silences.create",
        "error",
        403,
    )


def snake_case_keys(value: Any) -> bool:
    if isinstance(value, dict):
        return all(re.fullmatch(r"[a-z][a-z0-9_]*", k) and snake_case_keys(v) for k, v in value.items())
    if isinstance(value, list):
        return all(snake_case_keys(v) for v in value)
    return True


def populated(event: audit_pb2.AuditEvent) -> set[str]:
    return {f.name for f, _ in event.ListFields()}


async def test_command_and_button_refusals_make_audit_events_with_the_same_fields(js_ready):
    p = await parts(js_ready, (f"slack:{ADMIN}",))
    await p.gateway.on_message(ChatMessage("e2", VISITOR, "C2", "silence team=x for=1h", "3.1", "3.1", False))
    await p.silencer.on_click(click(p, VISITOR))
    command, button = p.audited
    assert populated(command) == populated(button)
    for event in (command, button):
        assert len(event.request_id) == 32 and re.fullmatch(r"[0-9a-f]{32}", event.trace_id)
        assert (event.actor, event.source, event.error_code) == (f"slack:{VISITOR}", "slack", 403)
        arguments = json.loads(event.arguments)
        assert snake_case_keys(arguments) and arguments["matchers"][0]["is_equal"] is True
    assert command.request_id != button.request_id and command.trace_id != button.trace_id


async def test_a_click_on_a_group_no_longer_known_says_so(js_ready):
    p = await parts(js_ready, (f"slack:{ADMIN}",))
    await p.silencer.on_click(ButtonClick(SILENCE_1H, "0" * 40, ADMIN, "C1", p.ts))
    assert p.ops.asked == []
    assert "no longer know this alert group" in p.chat.posts[-1][2]
