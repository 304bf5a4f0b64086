"""Runs on the production shape (`tools.harness.scaled`) that the test and the soak benchmark share: a
NATS node and then a gateway lost in the middle of alerts, and a rolling restart of every process.

Each run fires and resolves groups of alerts in both Alertmanagers while a `Chatter` sends commands,
and returns what went wrong with the alerts as sentences (none: every group posted once, every
resolve on its own message and said once in its thread); the caller counts the chatter's answers.
"""

from __future__ import annotations

import asyncio
import signal
import time

from nats.aio.client import Client

from chatops.subjects import ALERTS_STREAM
from slackemu.client import EmulatorControl
from tools.harness.cluster import settle_cluster
from tools.harness.scaled import Alerts, Chatter, Part, Scaled, start
from tools.harness.wait import eventually


async def lose_a_node_then_a_gateway(
    shape: Scaled, control: EmulatorControl, alerts: Alerts, chatter: Chatter, timeout: float = 60.0
) -> list[str]:
    """Half the groups fire; the node leading CHATOPS_ALERTS is SIGKILLed and the other half fires; the
    node comes back and the first half resolves; a gateway is SIGKILLed while it updates messages
    for the second half's resolves (and started again at the end)."""
    nc = await shape.cluster.provisioner()
    try:
        # No resending here: no Alertmanager restarts, and each alert is sent once when it changes.
        found = await _lose_a_node_then_a_gateway(shape, control, alerts, chatter, nc, timeout)
    finally:
        await nc.close()
        if not shape.gateways[0].proc.running:
            await start(shape.gateways[0].proc)
            await asyncio.to_thread(shape.wait_sockets, 2)
    return found + await alerts.problems(control, shape.oncall, resolved=range(alerts.groups))


async def _lose_a_node_then_a_gateway(
    shape: Scaled, control: EmulatorControl, alerts: Alerts, chatter: Chatter, nc: Client, timeout: float
) -> list[str]:
    half = alerts.groups // 2
    first, second = range(half), range(half, alerts.groups)
    await alerts.send(first)
    await alerts.wait_posted(control, shape.oncall, first, timeout)
    lost = await shape.cluster.leader(nc, ALERTS_STREAM)
    shape.cluster.kill_node(lost)  # as a machine goes: no goodbye to its clients or its peers
    await alerts.send(second)
    await alerts.wait_posted(control, shape.oncall, second, timeout)
    if await shape.cluster.leader(nc, ALERTS_STREAM) == lost:
        return [f"CHATOPS_ALERTS is still led by node {lost + 1}, which was killed"]

    await start(shape.cluster.procs[lost])
    await settle_cluster(shape.cluster)
    await alerts.send(first, resolved=True)
    await alerts.wait_resolved(control, shape.oncall, first, timeout)

    # Slack takes a second to answer each update: the gateway dies with some applied by Slack and
    # not yet in its record. The other takes them after their ack wait, and repeats nothing.
    await control.set_fault("slow", methods=["chat.update"], count=len(second), delay=1.0)
    async with chatter.paused():  # a command in a gateway's hands when it is SIGKILLed is gone
        await control.clear_requests()
        await alerts.send(second, resolved=True)
        await eventually(
            lambda: control.requests("chat.update"), timeout=timeout, interval=0.05, what="an update"
        )
        shape.gateways[0].proc.stop(signal.SIGKILL)
    await alerts.wait_resolved(control, shape.oncall, second, timeout)
    return []


async def rolling_restart(
    shape: Scaled,
    control: EmulatorControl,
    alerts: Alerts,
    parts: list[Part],
    timeout: float = 60.0,
) -> tuple[list[str], dict[str, float]]:
    """Each of `parts` (`Scaled.parts()`) stopped with SIGTERM and started again, one at a time, each
    awaited healthy (a NATS node: every stream current again) before the next. A group fires before
    each restart and the one before it resolves after it, while the caller's `Chatter` sends
    commands. Returns the problems and each restart's seconds. `alerts` needs a group per part and
    one more."""
    if alerts.groups < len(parts) + 1:
        raise ValueError(f"a rolling restart of {len(parts)} processes needs {len(parts) + 1} groups")
    took: dict[str, float] = {}
    async with alerts.resending():
        await _roll(parts, alerts, took)
        last = len(parts)
        await alerts.send(range(last, last + 1))
        await alerts.send(range(last - 1, last + 1), resolved=True)
        await alerts.wait_resolved(control, shape.oncall, range(last + 1), timeout)
    return await alerts.problems(control, shape.oncall, resolved=range(last + 1)), took


async def _roll(parts: list[Part], alerts: Alerts, took: dict[str, float]) -> None:
    for n, part in enumerate(parts):
        await alerts.send(range(n, n + 1))
        if n:
            await alerts.send(range(n - 1, n), resolved=True)
        started = time.monotonic()
        await part.restart()
        took[part.name] = time.monotonic() - started
