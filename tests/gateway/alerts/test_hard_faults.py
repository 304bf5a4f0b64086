"""Delivery under hard faults, against a real nats-server and the offline Slack (one of each for the
module): a bot removed from its channel, blocks refused, a channel that stays archived, a notification
that cannot be read, CHATOPS_ALERTS deleted and recreated, and a new consumer started late."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from nats.aio.client import Client
from nats.js.errors import NotFoundError
from prometheus_client import generate_latest

from chatops.streams import provision
from chatops.subjects import ALERTS_DELIVERY_DURABLE, ALERTS_STREAM, alert_subject
from chatops.v1.deadletters_pb2 import DeadLetter, ListDeadLettersRequest, ReplayDeadLettersRequest
from gateway.alerts import AlertDelivery
from gateway.alerts.routing import parse_routes
from gateway.metrics import GatewayMetrics
from gateway.slack.chat import SlackChat
from gateway.slack.client import CountingWebClient
from ops.app import running
from slackemu.client import EmulatorControl
from tests.gateway.alerts.conftest import FAST
from tests.ops.conftest import ask, ops_settings, reply_of
from tools.harness import servers
from tools.harness.alerts import flat, replies, store, top_level, webhook
from tools.harness.servers import NatsServer
from tools.harness.slackemu import SlackEmulator
from tools.harness.wait import eventually

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def nats_module(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    with servers.running(NatsServer(tmp_path_factory.mktemp("nats"))) as server:
        yield server


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SlackEmulator]:
    # No per-channel rate limit: the module posts many messages in few seconds.
    emu = SlackEmulator(tmp_path_factory.mktemp("slackemu"), rate_per_sec=0)
    emu.start()
    try:
        yield emu
    finally:
        emu.stop()


@pytest.fixture
async def bus(nats_module: NatsServer) -> AsyncIterator[Client]:
    """A client with the streams provisioned; the delivery consumer is removed after each test."""
    nc = await nats_module.connect("test-hard-faults")
    await provision(nc.jetstream())
    try:
        yield nc
    finally:
        with contextlib.suppress(NotFoundError):
            await nc.jetstream().delete_consumer(ALERTS_STREAM, ALERTS_DELIVERY_DURABLE)
        await nc.close()


class World:
    """The shared Slack, a fresh channel for this test, and deliveries into it."""

    def __init__(self, emulator: SlackEmulator, control: EmulatorControl, oncall: str) -> None:
        self.emulator, self.control, self.oncall = emulator, control, oncall
        self.metrics = GatewayMetrics()
        self.client = CountingWebClient(
            failed=self.metrics.slack_failed, token=emulator.bot_token, base_url=emulator.api_url
        )

    def delivery(self, nc: Client, **values: Any) -> AlertDelivery:
        tuning = values.pop("tuning", replace(FAST, backfill=0))
        return AlertDelivery(
            nc=nc,
            chat=SlackChat(self.client),
            oncall=self.oncall,
            tuning=tuning,
            metrics=self.metrics,
            **values,
        )

    def metric(self, name: str) -> float:
        text = generate_latest(self.metrics.registry).decode()
        return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name))


@pytest.fixture
async def world(emulator: SlackEmulator) -> AsyncIterator[World]:
    async with emulator.control() as control:
        await control.state()
        await control.clear_faults()
        yield World(emulator, control, await control.create_channel(f"oncall-{secrets.token_hex(3)}"))


def group(name: str) -> str:
    return f"{name}{secrets.token_hex(2)}"


async def test_a_removed_bot_stalls_its_channel_only_and_the_gap_arrives_once_when_it_is_back(
    bus: Client, world: World
) -> None:
    elsewhere = await world.control.create_channel(f"payments-{secrets.token_hex(3)}")
    delivery = world.delivery(bus, routes=parse_routes([f"team=payments:{elsewhere}"]))
    await delivery.start()
    await delivery.ready()
    await world.control.set_bot_member(world.oncall, False)
    a, b, paid = group("GapA"), group("GapB"), group("Paid")
    try:
        await store(bus, webhook(a, [("h1", "firing")]))
        await store(bus, webhook(b, [("h1", "firing")]))
        await store(bus, webhook(a, [("h1", "resolved")]))
        payments = webhook(paid, [("h1", "firing")])
        payments["commonLabels"]["team"] = "payments"
        await store(bus, payments)

        # The other channel is not held up by the stalled one.
        assert paid in flat(await world.control.wait_for_message(elsewhere, timeout=20))

        async def stalled() -> str:
            return delivery.problem()

        problem = await eventually(stalled, timeout=20, what="the stall said by /healthz's problem")
        assert "not_in_channel" in problem and world.oncall in problem and "invite the bot" in problem
        assert world.metric('chatops_gateway_alerts_stalled{error="not_in_channel"') == 1
        assert world.metric('chatops_gateway_slack_errors_total{error="not_in_channel"') >= 1
        assert await world.control.messages(world.oncall) == []

        await world.control.set_bot_member(world.oncall, True)

        async def all_there() -> list[dict[str, Any]] | None:
            messages = await world.control.messages(world.oncall)
            tops = top_level(messages)
            done = len(tops) == 2 and any(replies(messages, t["ts"]) for t in tops)
            return messages if done else None

        messages = await eventually(all_there, timeout=30, what="both groups and the resolve, once")
        tops = top_level(messages)
        [first_a] = [t for t in tops if a in flat(t)]
        assert "RESOLVED" in flat(first_a) and len(first_a["history"]) == 1  # firing, then resolved
        assert [r["text"] for r in replies(messages, first_a["ts"])] == [
            ":white_check_mark: Resolved: all 1 alert(s) of this group."
        ]
        assert len([t for t in tops if b in flat(t)]) == 1
        assert delivery.problem() == ""
        assert world.metric("chatops_gateway_alerts_stalled{") == 0
    finally:
        await delivery.stop()


async def test_refused_blocks_arrive_as_plain_text(bus: Client, world: World) -> None:
    await world.control.set_fault("invalid_blocks", methods=["chat.postMessage"], count=1)
    delivery = world.delivery(bus)
    await delivery.start()
    await delivery.ready()
    name = group("Blocky")
    try:
        await store(bus, webhook(name, [("h1", "firing")]))
        posted = await world.control.wait_for_message(world.oncall, timeout=20)
        assert not posted.get("blocks") and f"FIRING [warning] {name}" in posted["text"]
        assert world.metric('chatops_gateway_alerts_plain_text_total{error="invalid_blocks"}') == 1
        await store(bus, webhook(name, [("h1", "resolved")]))  # the plain message is updated like any other
        await world.control.wait_for_update(
            world.oncall, posted["ts"], predicate=lambda m: "RESOLVED" in flat(m), timeout=20
        )
    finally:
        await delivery.stop()


async def test_what_cannot_be_delivered_in_time_and_what_cannot_be_read_become_dead_letters_and_replay(
    world: World, secure_nats: NatsServer, tmp_path: Path
) -> None:
    """On a bus with identities: the gateway's may append dead letters, ops' lists and replays them."""
    gw, hook = await secure_nats.connect("gateway"), await secure_nats.connect("notifier")
    await world.control.set_archived(world.oncall, True)
    delivery = world.delivery(gw, tuning=replace(FAST, backfill=0, dead_letter_after=3.0))
    await delivery.start()
    await delivery.ready()
    name = group("Archived")
    try:
        async with running(ops_settings(tmp_path, secure_nats)):
            seq = await store(hook, webhook(name, [("h1", "firing")]))
            bad = await hook.jetstream().publish(alert_subject("firing", "critical"), b"\xff not protobuf")

            async def both() -> list[DeadLetter] | None:
                listed = reply_of(
                    await ask(gw, "deadletters.list", ListDeadLettersRequest()), "deadletters.list"
                )
                found = [d for d in listed.dead_letters if d.stream_seq in (seq, bad.seq)]
                return found if len(found) == 2 else None

            letters = {d.stream_seq: d for d in await eventually(both, timeout=30, what="two dead letters")}
            archived, unreadable = letters[seq], letters[bad.seq]
            assert archived.error == "is_archived" and world.oncall in archived.reason
            assert "not delivered within 3s" in archived.reason and archived.channel == world.oncall
            assert archived.notification.common_labels["alertname"] == name and archived.attempts >= 1
            assert unreadable.error == "undecodable" and unreadable.data == b"\xff not protobuf"
            assert world.metric('chatops_gateway_alerts_dead_lettered_total{error="is_archived"}') == 1

            async def acked() -> bool:
                info = await gw.jetstream().consumer_info(ALERTS_STREAM, ALERTS_DELIVERY_DURABLE)
                return bool(info.num_ack_pending == 0 and info.num_pending == 0)

            await eventually(acked, what="both acked on CHATOPS_ALERTS")
            assert delivery.problem() == ""  # nothing waits for the archived channel any more

            # Fixed: an admin has ops send it again, and it arrives like a new notification, once.
            await world.control.set_archived(world.oncall, False)
            request = ReplayDeadLettersRequest(ids=[archived.sequence, unreadable.sequence])
            reply = reply_of(await ask(gw, "deadletters.replay", request), "deadletters.replay")
        assert list(reply.replayed) == [archived.sequence] and "could not be read" in reply.skipped[0]
        posted = await world.control.wait_for_message(world.oncall, timeout=20)
        assert name in flat(posted)
        await eventually(acked, what="the replay acked")
        assert len(top_level(await world.control.messages(world.oncall))) == 1
    finally:
        await delivery.stop()
        await world.control.set_archived(world.oncall, False)
        await gw.close()
        await hook.close()


async def test_a_recreated_alerts_stream_is_followed_and_its_notifications_are_not_taken_as_seen(
    bus: Client, world: World
) -> None:
    delivery = world.delivery(bus)
    await delivery.start()
    await delivery.ready()
    name = group("Recreated")
    js = bus.jetstream()
    try:
        await store(bus, webhook(name, [("h1", "firing")]))
        await store(bus, webhook(group("Filler"), [("h1", "firing")]))
        first = await world.control.wait_for_message(
            world.oncall, predicate=lambda m: name in flat(m), timeout=20
        )

        await js.delete_stream(ALERTS_STREAM)
        await provision(js)
        # Sequences start at 1 again: the resolve is seq 1, below what the group's record saw.
        assert await store(bus, webhook(name, [("h1", "resolved")])) == 1
        await world.control.wait_for_update(
            world.oncall, first["ts"], predicate=lambda m: "RESOLVED" in flat(m), timeout=40
        )
        fresh = group("AfterRecreate")
        await store(bus, webhook(fresh, [("h1", "firing")]))
        await world.control.wait_for_message(world.oncall, predicate=lambda m: fresh in flat(m), timeout=20)
    finally:
        await delivery.stop()


async def test_a_new_consumer_starts_at_new_notifications_not_at_the_history(
    bus: Client, world: World
) -> None:
    old = group("Old")
    await store(bus, webhook(old, [("h1", "firing")]))
    delivery = world.delivery(bus, tuning=replace(FAST, backfill=0))
    await delivery.start()
    await delivery.ready()
    new = group("New")
    try:
        await store(bus, webhook(new, [("h1", "firing")]))
        await world.control.wait_for_message(world.oncall, predicate=lambda m: new in flat(m), timeout=20)

        async def acked() -> bool:
            info = await bus.jetstream().consumer_info(ALERTS_STREAM, ALERTS_DELIVERY_DURABLE)
            return bool(info.num_ack_pending == 0 and info.num_pending == 0)

        await eventually(acked, what="the new notification acked, nothing else pending")
        assert not any(old in flat(m) for m in await world.control.messages(world.oncall))
    finally:
        await delivery.stop()
