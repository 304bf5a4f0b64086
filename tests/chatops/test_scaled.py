"""The production shape end to end: three NATS nodes at R3, two of ops, the notifier and the gateway, an
Alertmanager HA pair, the offline Slack. One Slack event on two gateways is answered once; the node
leading CHATOPS_ALERTS killed mid-burst, then a gateway killed mid-update, lose and double nothing."""

from __future__ import annotations

import signal
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from chatops.subjects import ALERTS_STREAM
from slackemu.client import EmulatorControl
from tools.harness.cluster import settle_cluster
from tools.harness.scaled import Alerts, Chatter, Scaled, scaled
from tools.harness.wait import eventually

pytestmark = pytest.mark.slow

GROUPS, PER_GROUP = 8, 5  # 40 alerts; bench/cluster_soak.py runs the 200 in 20


@pytest.fixture(scope="module")
def shape(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scaled]:
    with scaled(tmp_path_factory.mktemp("scaled")) as started:
        yield started


@pytest.fixture
async def control(shape: Scaled) -> AsyncIterator[EmulatorControl]:
    async with shape.slack.control() as ctl:
        await ctl.state()
        await ctl.clear_faults()
        yield ctl


def duplicates(shape: Scaled) -> float:
    return sum(g.metric("chatops_gateway_duplicate_events_total") for g in shape.gateways)


async def test_one_event_on_two_sockets_of_two_gateways_is_answered_once(
    shape: Scaled, control: EmulatorControl
) -> None:
    chatter = await Chatter.new(control, "twice")
    before = duplicates(shape)
    await control.set_fault("socket_duplicate", count=3)
    for _ in range(4):
        ts = await control.mention(chatter.user, chatter.channel, "help")
        chatter.sent.append(ts)
        await control.wait_for_message(chatter.channel, thread_ts=ts, timeout=30)
    # Each copy went to a gateway of its own (one socket each), and one of the two said nothing.
    twice = [d for d in await control.deliveries() if _channel(d) == chatter.channel]
    assert sorted(len(d["attempts"]) for d in twice) == [1, 2, 2, 2]
    await eventually(lambda: duplicates(shape) - before == 3, timeout=10, what="3 duplicates dropped")
    assert await chatter.answers() == dict.fromkeys(chatter.sent, 1)
    assert await chatter.unthreaded() == []


def _channel(delivery: dict[str, Any]) -> str:
    return str(delivery.get("payload", {}).get("event", {}).get("channel", ""))


async def test_the_alerts_leader_killed_mid_burst_then_a_gateway_killed_mid_update_lose_and_double_nothing(
    shape: Scaled, control: EmulatorControl
) -> None:
    alerts = Alerts(shape.alertmanagers, GROUPS, PER_GROUP)
    first, second = range(GROUPS // 2), range(GROUPS // 2, GROUPS)
    chatter = (await Chatter.new(control, "trickle")).start()
    nc = await shape.cluster.provisioner()
    try:
        # Half the groups posted, then the node leading CHATOPS_ALERTS dies as a machine does, and the
        # other half fires while JetStream elects another leader and every client moves.
        await alerts.send(first)
        await alerts.wait_posted(control, shape.oncall, first)
        lost = await shape.cluster.leader(nc, ALERTS_STREAM)
        shape.cluster.kill_node(lost)
        await alerts.send(second)
        await alerts.wait_posted(control, shape.oncall, second)
        assert await shape.cluster.leader(nc, ALERTS_STREAM) != lost

        # The node comes back and catches up; the first half resolves.
        shape.cluster.start_node(lost)
        await settle_cluster(shape.cluster)
        await alerts.send(first, resolved=True)
        await alerts.wait_resolved(control, shape.oncall, first)

        # A gateway dies in the middle of updating a message (Slack has it, its record does not): the
        # other takes its notifications after their ack wait and neither loses nor repeats a change.
        await control.set_fault("slow", methods=["chat.update"], count=GROUPS, delay=1.0)
        async with chatter.paused():
            await control.clear_requests()
            await alerts.send(second, resolved=True)
            await eventually(
                lambda: control.requests("chat.update"), timeout=30, interval=0.05, what="an update under way"
            )
            shape.gateways[0].proc.stop(signal.SIGKILL)
        await alerts.wait_resolved(control, shape.oncall, second)
    finally:
        await nc.close()
        await chatter.stop()
        if not shape.gateways[0].proc.running:
            shape.gateways[0].proc.start()
            shape.wait_sockets(2)

    assert await alerts.problems(control, shape.oncall, resolved=range(GROUPS)) == []
    answers = await chatter.answers()
    assert len(answers) >= 5 and answers == dict.fromkeys(chatter.sent, 1)
    assert await chatter.unthreaded() == []
