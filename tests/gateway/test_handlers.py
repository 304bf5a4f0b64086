"""SlackGateway's decisions on real NATS KV, with a recording Chat at the Protocol seam (no Slack needed)."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field, replace
from typing import Any

from google.protobuf.message import Message

from chatops.bus import Caller
from chatops.contract import Command
from chatops.streams import provision
from chatops.subjects import KV_CONFIRMATIONS, KV_SEEN_EVENTS
from chatops.v1 import audit_pb2, deploys_pb2, graphs_pb2, sampling_pb2
from gateway.confirmations import Confirmations
from gateway.flow import bus_asker
from gateway.metrics import GatewayMetrics
from gateway.render.slack import SlackMessage, SlackUpload
from gateway.seen import SeenEvents
from gateway.slack.admission import FOREIGN, WRONG_CHANNEL, Admission
from gateway.slack.app import InFlight
from gateway.slack.blocks import CONFIRM
from gateway.slack.chat import ChatError, Failure, Posted
from gateway.slack.events import ButtonClick, ChatMessage
from gateway.slack.handlers import SlackGateway
from tools.harness.wait import eventually


@dataclass
class RecordingChat:
    """A Chat that remembers what the gateway said."""

    posts: list[tuple[str, str, str]] = field(default_factory=list)  # channel, thread, text
    updates: list[tuple[str, str]] = field(default_factory=list)  # ts, text
    ephemerals: list[tuple[str, str]] = field(default_factory=list)  # user, text
    reactions: list[tuple[str, str]] = field(default_factory=list)  # ts, name
    uploads: list[tuple[str, str, SlackUpload]] = field(default_factory=list)  # channel, thread, file
    refuse_uploads: str = ""  # when set, upload fails with this Slack error

    async def upload(self, channel: str, upload: SlackUpload, thread_ts: str = "") -> str:
        if self.refuse_uploads:
            raise ChatError(Failure.REFUSED, self.refuse_uploads)
        self.uploads.append((channel, thread_ts, upload))
        return f"F{len(self.uploads)}"

    async def post(self, channel: str, message: SlackMessage, thread_ts: str = "") -> Posted:
        self.posts.append((channel, thread_ts, message.text))
        return Posted(channel, f"9.{len(self.posts)}")

    async def update(self, channel: str, ts: str, message: SlackMessage) -> None:
        self.updates.append((ts, message.text))

    async def ephemeral(self, channel: str, user: str, text: str, thread_ts: str = "") -> None:
        self.ephemerals.append((user, text))

    async def react(self, channel: str, ts: str, name: str) -> None:
        self.reactions.append((ts, name))

    async def user_name(self, user: str) -> str:
        return f"name-of-{user}"


class Held:
    """An Asker standing in for a slow ops: answers sampling.get once the test lets it."""

    def __init__(self) -> None:
        self.release = asyncio.Event()

    async def __call__(self, command: Command[Any, Any], request: Message, caller: Caller) -> Message:
        await self.release.wait()
        reply = sampling_pb2.GetSamplingReply()
        reply.sampler.type = sampling_pb2.SAMPLER_TYPE_ALWAYS
        return reply


async def gateway_on(
    nc, chat: RecordingChat, *, ask=None, ttl: float = 300.0, admission=None, slow_after=1.5, clock=time.time
):
    js = nc.jetstream()
    await provision(js)
    audited: list[audit_pb2.AuditEvent] = []

    async def audit(event: audit_pb2.AuditEvent) -> None:
        audited.append(event)

    gw = SlackGateway(
        chat=chat,
        ask=ask or bus_asker(nc, 5.0),
        seen=SeenEvents(await js.key_value(KV_SEEN_EVENTS)),
        confirmations=Confirmations(await js.key_value(KV_CONFIRMATIONS)),
        audit=audit,
        admins=("UADMIN",),
        confirm_ttl=ttl,
        metrics=GatewayMetrics(),
        admission=admission,
        slow_after=slow_after,
        clock=clock,
    )
    return gw, audited


def said(key: str, user: str, text: str) -> ChatMessage:
    return ChatMessage(
        dedupe_key=key, user=user, channel="C1", text=text, ts=f"1.{key}", thread_ts=f"1.{key}", direct=False
    )


async def drawn(command: Command[Any, Any], request: Message, caller: Caller) -> Message:
    """An Asker standing in for ops: answers graph.render with a (tiny, fake) picture."""
    assert isinstance(request, graphs_pb2.RenderGraphRequest)
    reply = graphs_pb2.RenderGraphReply(
        png=b"\x89PNG-not-really", width=1200, height=640, query=request.query
    )
    reply.series_total, reply.series_shown = 12, 10
    reply.start.FromSeconds(1_767_362_400)
    reply.end.FromSeconds(1_767_366_000)
    reply.step.FromSeconds(15)
    return reply


async def test_a_graph_is_shared_as_a_file_in_the_thread_with_what_it_shows(nc):
    chat = RecordingChat()
    gw, _ = await gateway_on(nc, chat, ask=drawn)
    await gw.on_message(said("g1", "U1", "graph rate(petstore_requests_total[1m]) for=1h"))
    assert chat.posts == []
    [(channel, thread, upload)] = chat.uploads
    assert (channel, thread) == ("C1", "1.g1")
    assert upload.data == b"\x89PNG-not-really"
    assert upload.filename == "graph-20260102-150000.png"
    assert upload.comment == (
        "*Graph of `rate(petstore_requests_total[1m])`*\n"
        "the top 10 of 12 series by last value, 1h to 2026-01-02 15:00 UTC, one point every 15s"
    )
    assert upload.alt_text.startswith("Graph of rate(petstore_requests_total[1m]) over 1h")


async def test_a_picture_slack_refuses_is_said_in_the_thread_instead(nc):
    chat = RecordingChat(refuse_uploads="file_uploads_disabled")
    gw, _ = await gateway_on(nc, chat, ask=drawn)
    await gw.on_message(said("g2", "U1", "graph up"))
    [(channel, thread, text)] = chat.posts
    assert (channel, thread) == ("C1", "1.g2")
    assert "Slack did not take it (file_uploads_disabled)" in text
    assert "Graph of `up`" in text


async def test_a_slow_command_gets_an_hourglass_then_its_answer(nc):
    chat = RecordingChat()
    ops = Held()
    gw, _ = await gateway_on(nc, chat, ask=ops, slow_after=0.05)
    handling = asyncio.create_task(gw.on_message(said("e1", "U1", "show sampling")))
    await eventually(lambda: chat.reactions == [("1.e1", "hourglass_flowing_sand")], what="the hourglass")
    assert chat.posts == []  # still waiting for ops
    ops.release.set()
    await handling
    assert chat.posts == [("C1", "1.e1", "The petstore samples traces with: always")]


async def test_ops_not_running_is_said_plainly_and_a_repeat_is_dropped(nc):
    chat = RecordingChat()
    gw, _ = await gateway_on(nc, chat)
    await gw.on_message(said("e2", "U1", "deployed version"))
    await gw.on_message(said("e2", "U1", "deployed version"))
    assert len(chat.posts) == 1
    assert "the Ops service is not answering" in chat.posts[0][2]
    assert chat.reactions == []


async def test_a_refusal_is_audited_with_the_askers_name(nc):
    chat = RecordingChat()
    gw, audited = await gateway_on(nc, chat)
    await gw.on_message(said("e3", "U2", "silence alertname=X for=1h"))
    assert "only admins may run it" in chat.posts[0][2]
    [event] = audited
    assert (event.actor, event.actor_name, event.command, event.error_code) == (
        "slack:U2",
        "name-of-U2",
        "silences.create",
        403,
    )


async def test_an_expired_confirmation_does_not_run(nc):
    chat = RecordingChat()
    now = [1_767_366_000.0]
    gw, _ = await gateway_on(nc, chat, ttl=300, clock=lambda: now[0])
    await gw.on_message(said("e4", "UADMIN", "change sampling always"))
    [(_, _, question)] = chat.posts
    assert question.startswith("Run `change sampling always`?")
    pending_id = await _only_pending_id(nc)
    now[0] += 300.0  # the question's five minutes are up
    await gw.on_click(ButtonClick(CONFIRM, pending_id, "UADMIN", "C1", "9.1"))
    assert chat.updates == [("9.1", "Expired: `change sampling always` was not run.")]
    await gw.on_click(ButtonClick(CONFIRM, pending_id, "UADMIN", "C1", "9.1"))
    assert chat.updates[-1] == ("9.1", "This request was already handled or has expired.")


async def test_only_the_asker_may_confirm(nc):
    chat = RecordingChat()
    gw, _ = await gateway_on(nc, chat)
    await gw.on_message(said("e5", "UADMIN", "change sampling never"))
    pending_id = await _only_pending_id(nc)
    await gw.on_click(ButtonClick(CONFIRM, pending_id, "UOTHER", "C1", "9.1"))
    assert chat.ephemerals == [("UOTHER", "Only <@UADMIN> can confirm or cancel this.")]
    assert chat.updates == []
    await gw.on_click(ButtonClick(CONFIRM, pending_id, "UADMIN", "C1", "9.1"))
    assert chat.updates[0] == ("9.1", "Running `change sampling never` (confirmed)…")
    assert "the Ops service is not answering" in chat.updates[-1][1]  # nothing serves commands here


async def _only_pending_id(nc) -> str:
    kv = await nc.jetstream().key_value(KV_CONFIRMATIONS)
    keys = await kv.keys()
    assert len(keys) == 1
    return str(keys[0])


@dataclass
class FlakyChat(RecordingChat):
    """Slack refusing the first post: the gateway must still say something."""

    failures: int = 1

    async def post(self, channel: str, message: SlackMessage, thread_ts: str = "") -> Posted:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("slack went away")
        return await super().post(channel, message, thread_ts)


async def test_a_failure_inside_the_gateway_is_said_in_the_thread(nc):
    chat = FlakyChat()
    gw, _ = await gateway_on(nc, chat)
    await gw.on_message(said("e6", "U1", "help"))
    [(_, thread, text)] = chat.posts
    assert thread == "1.e6" and text.startswith("Sorry, that failed inside the gateway (request id ")


async def test_a_refusal_is_said_even_when_the_audit_log_is_down(nc):
    chat = RecordingChat()
    gw, _ = await gateway_on(nc, chat)

    async def broken_audit(event: audit_pb2.AuditEvent) -> None:
        raise ConnectionError("no JetStream")

    gw.audit = broken_audit
    await gw.on_message(said("e7", "U2", "change sampling always"))
    assert "only admins may run it" in chat.posts[0][2]


async def test_a_message_from_elsewhere_gets_one_line_and_is_audited(nc):
    chat = RecordingChat()
    asked: list[str] = []

    async def ask(command, request, caller):
        asked.append(command.name)
        raise AssertionError("a refused message must not reach ops")

    policy = Admission(frozenset({"T111"}), frozenset({"C1", "dm"}))
    gw, audited = await gateway_on(nc, chat, ask=ask, admission=policy)
    guest = replace(said("o1", "UGUEST", "deployed version"), origin=("T111", "T0GUEST01"))
    await gw.on_message(guest)
    elsewhere = replace(said("o2", "U1", "not even a command"), channel="C9", origin=("T111",))
    await gw.on_message(elsewhere)
    assert [text for _, _, text in chat.posts] == [FOREIGN, WRONG_CHANNEL]
    assert asked == []
    assert [(e.actor, e.command, e.error_code) for e in audited] == [
        ("slack:UGUEST", "version.get", 403),
        ("slack:U1", "chat.refused", 403),
    ]
    assert "T0GUEST01" in audited[0].error and json.loads(audited[1].arguments) == {
        "text": "not even a command"
    }
    await gw.on_click(ButtonClick(CONFIRM, "x", "UGUEST", "C1", "9.1", origin=("T0GUEST01",)))
    assert chat.ephemerals == [("UGUEST", FOREIGN)] and chat.updates == []


async def accepted_deploy(command: Command[Any, Any], request: Message, caller: Caller) -> Message:
    """An Asker standing in for the deployer: it accepts the deploy at once."""
    return deploys_pb2.StartDeployReply(deploy=deploys_pb2.DeployEvent(deploy_id="d1", to_version="0.2.0"))


async def test_a_confirmed_deploy_leaves_its_message_to_the_deploy_events(nc):
    chat = RecordingChat()
    followed: list[tuple[str, str, str, str, str]] = []

    async def follow(request_id: str, channel: str, ts: str, who: str, note: str) -> None:
        followed.append((request_id, channel, ts, who, note))

    asked: list[str] = []

    async def ask(command: Command[Any, Any], request: Message, caller: Caller) -> Message:
        asked.append(caller.request_id)
        assert followed, "the message must be noted before the command goes out"
        return await accepted_deploy(command, request, caller)

    gw, _ = await gateway_on(nc, chat, ask=ask)
    gw.clicks.follow = follow
    await gw.on_message(said("e8", "UADMIN", "deploy petstore 0.2.0"))
    await gw.on_click(ButtonClick(CONFIRM, await _only_pending_id(nc), "UADMIN", "C1", "9.1"))
    assert followed == [(asked[0], "C1", "9.1", "UADMIN", "`deploy petstore 0.2.0`")]
    # Only "Running…": every later update of the message comes from the deploy's events.
    assert chat.updates == [("9.1", "Running `deploy petstore 0.2.0` (confirmed)…")]


async def test_a_refused_deploy_is_said_in_its_message(nc):
    chat = RecordingChat()
    gw, _ = await gateway_on(nc, chat)  # no deployer on this bus: "not answering"

    async def follow(request_id: str, channel: str, ts: str, who: str, note: str) -> None:
        return None

    gw.clicks.follow = follow
    await gw.on_message(said("e9", "UADMIN", "rollback petstore"))
    await gw.on_click(ButtonClick(CONFIRM, await _only_pending_id(nc), "UADMIN", "C1", "9.1"))
    assert "the deployer is not answering" in chat.updates[-1][1]


async def test_a_stopping_gateway_waits_for_the_events_under_way_but_not_forever():
    inflight = InFlight()
    release = asyncio.Event()

    async def handler() -> None:
        async with inflight.held():
            await release.wait()

    handling = asyncio.create_task(handler())
    await eventually(lambda: inflight.count == 1, what="the handler under way")
    await inflight.drain(timeout=0.05)  # gives up on a handler that does not finish
    assert inflight.count == 1 and not handling.done()
    draining = asyncio.create_task(inflight.drain(timeout=30))
    release.set()
    await draining
    assert inflight.count == 0 and handling.done()
    await inflight.drain(timeout=30)  # nothing under way: at once
