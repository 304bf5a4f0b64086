"""The production shape end to end: three NATS nodes at R3, two of ops, the notifier and the gateway, an
Alertmanager HA pair, the offline Slack. One Slack event on two gateways is answered once; a gateway
stopped while it answers finishes first; the node leading CHATOPS_ALERTS killed mid-burst, then a
gateway killed mid-update, lose and double nothing; so does a rolling restart."""

from __future__ import annotations

import asyncio
import re
import socket
import urllib.request
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from slackemu.client import EmulatorControl
from tools.harness.cluster_runs import lose_a_node_then_a_gateway, rolling_restart
from tools.harness.components import Service
from tools.harness.ports import LOOPBACK
from tools.harness.scaled import Alerts, Chatter, Scaled, scaled, start
from tools.harness.wait import eventually

pytestmark = pytest.mark.slow

GROUPS, PER_GROUP = 8, 5  # 40 alerts; bench/cluster_soak.py runs the 200 in 20


@pytest.fixture(scope="module")
def shape(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scaled]:
    # A Prometheus that takes connections and never answers: `deployed version` is a slow command
    # (ops gives up after 3 s and says so), the others need no Prometheus.
    with socket.create_server((LOOPBACK, 0)) as silent:
        slow = {"PROMETHEUS_URL": f"http://{LOOPBACK}:{silent.getsockname()[1]}", "OPS_BACKEND_TIMEOUT": "3"}
        with scaled(tmp_path_factory.mktemp("scaled"), ops_env=slow) as started:
            yield started


@pytest.fixture
async def control(shape: Scaled) -> AsyncIterator[EmulatorControl]:
    async with shape.slack.control() as ctl:
        await ctl.state()
        await ctl.clear_faults()
        yield ctl


def duplicates(shape: Scaled) -> float:
    return sum(g.metric("chatops_gateway_duplicate_events_total") for g in shape.gateways)


def counted(service: Service, prefix: str) -> float:
    """The sum of every sample of a metric on `service`'s /metrics, whatever its labels."""
    with urllib.request.urlopen(f"{service.url}/metrics", timeout=5) as resp:
        lines = resp.read().decode().splitlines()
    return sum(float(line.rsplit(" ", 1)[1]) for line in lines if line.startswith(prefix))


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
    try:
        # As long as a reply may take: on a loaded machine a second copy can be handled that late.
        await eventually(lambda: duplicates(shape) - before == 3, timeout=30, what="3 duplicates dropped")
    except AssertionError as exc:
        said = "\n".join(g.log_tail(400) for g in shape.gateways)
        lines = [line for line in said.splitlines() if chatter.channel in line or "duplicate" in line]
        raise AssertionError(f"{exc}\ngateways on {chatter.channel}:\n" + "\n".join(lines[-40:])) from None
    await answered_once(chatter)


async def answered_once(chatter: Chatter, at_least: int = 0) -> None:
    """Every command the chatter sent (`at_least` of them) has one answer, in its thread."""
    answers = await chatter.answers()
    assert len(answers) >= at_least and answers == dict.fromkeys(chatter.sent, 1)
    assert await chatter.unthreaded() == []


def _channel(delivery: dict[str, Any]) -> str:
    return str(delivery.get("payload", {}).get("event", {}).get("channel", ""))


async def test_a_gateway_stopped_while_it_answers_finishes_what_slack_handed_it(
    shape: Scaled, control: EmulatorControl
) -> None:
    chatter = await Chatter.new(control, "slow")
    # Slack hands the events to the two gateways in turn, and has their acks at once: each gateway
    # holds two slow commands, which no one else will ever be sent, when the first is stopped.
    for _ in range(4):
        chatter.sent.append(await control.mention(chatter.user, chatter.channel, "deployed version"))

    async def acked() -> bool:
        mine = [d for d in await control.deliveries() if _channel(d) == chatter.channel]
        return len(mine) == 4 and all(d["acked"] for d in mine)

    await eventually(acked, timeout=30, what="the four events acked")
    gateway = shape.gateways[0]
    try:
        await asyncio.to_thread(gateway.stop)
        assert re.search(r"slack.draining handling=[1-9]", gateway.log_tail()), gateway.log_tail()
    finally:
        await start(gateway.proc)
        await asyncio.to_thread(shape.wait_sockets, 2)

    async def all_answered() -> bool:
        return all((await chatter.answers()).values())

    await eventually(all_answered, timeout=30, what="every slow command answered")
    await answered_once(chatter)
    messages = await control.messages(chatter.channel)
    assert sum("failed (504" in m["text"] for m in messages) == 4


async def test_the_alerts_leader_killed_mid_burst_then_a_gateway_killed_mid_update_lose_and_double_nothing(
    shape: Scaled, control: EmulatorControl
) -> None:
    alerts = Alerts(shape.alertmanagers, GROUPS, PER_GROUP)
    chatter = (await Chatter.new(control, "trickle")).start()
    try:
        problems = await lose_a_node_then_a_gateway(shape, control, alerts, chatter)
    finally:
        await chatter.stop()
    assert problems == [], shape.logs()
    await answered_once(chatter, at_least=5)
    # Both ops replicas took commands (the queue group spreads them); every notification reached
    # both notifiers, and one of the two found it stored already.
    assert all(counted(ops, "chatops_ops_commands_total{") > 0 for ops in shape.ops)
    assert sum(n.metric("chatops_notifier_duplicates_total") for n in shape.notifiers) >= GROUPS


async def test_a_rolling_restart_of_every_node_and_each_component_loses_and_doubles_nothing(
    shape: Scaled, control: EmulatorControl
) -> None:
    # Every NATS node and one of each replica (bench/cluster_soak.py restarts every process).
    parts = shape.parts(replicas=1)
    alerts = Alerts(shape.alertmanagers, len(parts) + 1, 2)
    chatter = (await Chatter.new(control, "rolling")).start()
    try:
        problems, _ = await rolling_restart(shape, control, alerts, parts)
    finally:
        await chatter.stop()
    assert problems == [], shape.logs()
    await answered_once(chatter, at_least=5)
