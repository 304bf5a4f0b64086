"""Watching the watcher, end to end on the local stack `chatops up` runs: the same components,
environment and rewritten configs (with second-long intervals), real Prometheus and Alertmanager.

Stop a component and its "down" alert reaches #oncall of the offline Slack through the second path
(Alertmanager's Slack integration -> the incoming webhook), not through notifier -> NATS -> gateway;
start it again and the alert resolves. A delivery stalled by Slack errors raises the stall alert the
same way. One stack serves the whole module.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from chatops.launcher.configs import Tuning, write_configs
from chatops.launcher.plan import plan
from chatops.launcher.ports import Ports
from chatops.launcher.spec import Component, EmulatedSlack, StackOptions
from chatops.launcher.stack import find_binaries, with_emulator
from slackemu import webhooks
from slackemu.client import EmulatorControl
from tools.harness.alerts import push_alert
from tools.harness.ports import free_ports
from tools.harness.procs import ROOT, Process
from tools.harness.wait import eventually, eventually_sync

pytestmark = pytest.mark.slow

# Seconds instead of minutes: scrape and evaluate every second, every rule's `for:` 3s.
FAST = Tuning(scrape_interval="1s", rule_for="3s", group_wait="1s", group_interval="2s")
WITHIN = 120.0  # the bound: on-call hears of it within two minutes


@dataclass
class LocalStack:
    """The launcher's plan with test tunings, each component started and stopped on its own."""

    opts: StackOptions
    workdir: Path
    procs: dict[str, Process] = field(default_factory=dict)

    @property
    def oncall(self) -> str:
        assert self.opts.slack is not None
        return self.opts.slack.oncall_channel

    def component(self, name: str) -> Component:
        return next(c for c in plan(self.opts) if c.name == name)

    def start(self, name: str) -> None:
        self.procs[name] = Process(self.component(name), self.workdir).start(timeout=90)

    def stop(self, name: str) -> None:
        self.procs[name].stop()

    def prometheus(self, path: str) -> Any:
        with urllib.request.urlopen(self.opts.ports.url("prometheus", path), timeout=5) as resp:
            return json.loads(resp.read())["data"]

    def firing(self) -> set[str]:
        return {
            a["labels"]["alertname"]
            for a in self.prometheus("/api/v1/alerts")["alerts"]
            if a["state"] == "firing"
        }


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    tmp = tmp_path_factory.mktemp("watch")
    ports = Ports.from_base(free_ports(len(Ports().named())))
    slack = EmulatedSlack(
        bot_token=f"xoxb-local-{secrets.token_hex(12)}",
        app_token=f"xapp-local-{secrets.token_hex(12)}",
        signing_secret=secrets.token_hex(16),
        webhook_secret=secrets.token_urlsafe(18),
    )
    token = secrets.token_urlsafe(24)
    hook = webhooks.url(ports.url("slackemu"), slack.webhook_secret)
    files = write_configs(
        ROOT / "alertmanager", tmp / "config", ports.moved(), token, webhook_url=hook, tuning=FAST
    )
    opts = StackOptions(
        ports=ports,
        data_dir=tmp,
        configs=files,
        notifier_token=token,
        demo_load=False,
        slack=slack,
        binaries=find_binaries(),
        source_root=ROOT,
    )
    local = LocalStack(opts, tmp / "logs")
    try:
        for name in [c.name for c in plan(opts)]:
            local.start(name)
            if name == "slackemu":
                # The launcher's own step: what the offline Slack says reaches the parts after it.
                local.opts = asyncio.run(with_emulator(local.opts, slack))

        # Prometheus ran before the components did, so their "down" alerts may have fired and resolved
        # already; start from quiet: every component scraped and on the bus, only the Watchdog firing.
        def settled() -> bool:
            connected = local.prometheus("/api/v1/query?query=chatops_bus_connected")["result"]
            on_bus = {r["metric"]["job"] for r in connected if r["value"][1] == "1"}
            on_the_bus = {"chatops-gateway", "chatops-ops", "chatops-notifier", "chatops-deployer"}
            return on_bus == on_the_bus and local.firing() == {"Watchdog"}

        eventually_sync(settled, timeout=120, what="the stack settled: all on the bus, only Watchdog firing")
        yield local
    finally:
        for proc in reversed(list(local.procs.values())):
            proc.stop()


def hook_title(msg: dict[str, Any]) -> str:
    """The title of a message the incoming webhook posted ("" for any other message)."""
    if msg.get("user") != webhooks.HOOK_USER:
        return ""
    return " ".join(str(a.get("title", "")) for a in msg.get("attachments") or [])


async def second_path(control: EmulatorControl, channel: str, title: str, after: float) -> dict[str, Any]:
    """The webhook's message titled `title` posted after `after` (unix time), within WITHIN seconds."""

    async def posted() -> dict[str, Any] | None:
        for msg in await control.messages(channel):
            if float(msg["ts"]) > after and title in hook_title(msg):
                return msg
        return None

    found: dict[str, Any] = await eventually(posted, timeout=WITHIN, what=f"{title!r} in #oncall")
    return found


@pytest.mark.parametrize(
    ("component", "alert", "job"),
    [
        ("gateway", "ChatopsGatewayDown", "chatops-gateway"),
        ("ops", "ChatopsOpsDown", "chatops-ops"),
        ("notifier", "ChatopsNotifierDown", "chatops-notifier"),
    ],
)
async def test_a_stopped_component_is_announced_in_oncall_without_the_chain_and_resolved(
    stack: LocalStack, component: str, alert: str, job: str
) -> None:
    async with EmulatorControl(stack.opts.ports.url("slackemu")) as control:
        before = time.time()
        stack.stop(component)
        fired = await second_path(control, stack.oncall, f"FIRING [critical] {alert}", before)
        assert fired["bot_id"] == webhooks.HOOK_ID  # Alertmanager's own integration, not the gateway
        text = fired["attachments"][0]["text"]
        assert f"The chatops {component if component != 'ops' else 'ops service'}" in text
        stack.start(component)
        resolved = await second_path(
            control, stack.oncall, f"RESOLVED [critical] {alert}", float(fired["ts"])
        )
        assert resolved["attachments"][0]["color"] == "good"
    assert alert not in stack.firing()


async def test_a_delivery_stalled_by_slack_errors_raises_the_stall_alert_through_the_second_path(
    stack: LocalStack,
) -> None:
    async with EmulatorControl(stack.opts.ports.url("slackemu")) as control:
        await control.state()
        before = time.time()
        await control.set_fault("server_error", methods=["chat.postMessage"], seconds=600)
        await push_alert(
            stack.opts.ports.url("alertmanager"), "WatchStallProbe", "sent while Slack fails", job="petstore"
        )
        stalled = await second_path(
            control, stack.oncall, "FIRING [critical] ChatopsAlertDeliveryStalled", before
        )
        # The failed calls are counted too (ChatopsSlackErrorsRising watches that counter).
        errors = stack.prometheus("/api/v1/query?query=chatops_gateway_slack_errors_total")["result"]
        assert any(r["metric"]["method"] == "chat.postMessage" and float(r["value"][1]) >= 1 for r in errors)

        await control.clear_faults()
        await second_path(
            control, stack.oncall, "RESOLVED [critical] ChatopsAlertDeliveryStalled", float(stalled["ts"])
        )
        # Nothing was lost: the gateway delivered the probe once Slack answered again.
        posted = await control.wait_for_message(
            stack.oncall, predicate=lambda m: "WatchStallProbe" in json.dumps(m), timeout=WITHIN
        )
        assert "sent while Slack fails" in json.dumps(posted)
