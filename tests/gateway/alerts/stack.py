"""The alert end-to-end tests' parts: notifier, gateway and ops with alert-test settings, an
Alertmanager config like the committed one, and a switch for a Prometheus rule."""

from __future__ import annotations

from pathlib import Path

import yaml
from aiohttp import web

from tools.harness import components
from tools.harness.components import NOTIFIER_TOKEN, UNREACHABLE, Service
from tools.harness.ports import LOOPBACK, free_port
from tools.harness.procs import ROOT
from tools.harness.servers import NatsServer
from tools.harness.slackemu import SlackEmulator

TOKEN = NOTIFIER_TOKEN


def gateway(
    workdir: Path,
    bus: NatsServer,
    slack: SlackEmulator,
    oncall: str,
    *,
    admins: str = "",
) -> Service:
    """A gateway delivering alerts to `oncall`; a killed one's alert in hand comes back after 5 s."""
    return components.gateway(
        workdir,
        bus,
        slack,
        SLACK_ONCALL_CHANNEL=oncall,
        CHATOPS_ADMINS=admins,
        ALERTS_ACK_WAIT="5",
    )


def ops(
    workdir: Path, bus: NatsServer, alertmanager_url: str, admins: str, *, prometheus_url: str = UNREACHABLE
) -> Service:
    return components.ops(
        workdir,
        bus,
        ALERTMANAGER_URL=alertmanager_url,
        PROMETHEUS_URL=prometheus_url,
        CHATOPS_ADMINS=admins,
    )


def alertmanager_config(notifier_url: str, token: str = TOKEN) -> dict[str, object]:
    """Like alertmanager/alertmanager.yml, with test-sized waits and the token inline (tmp dir only)."""
    return {
        "route": {
            "receiver": "chatops-notifier",
            "group_by": ["alertname"],
            "group_wait": "1s",
            "group_interval": "2s",
            "repeat_interval": "1h",
        },
        "receivers": [
            {
                "name": "chatops-notifier",
                "webhook_configs": [
                    {
                        "url": f"{notifier_url}/alerts",
                        "send_resolved": True,
                        "http_config": {"authorization": {"type": "Bearer", "credentials": token}},
                    }
                ],
            }
        ],
    }


class Switch:
    """A tiny /metrics endpoint for Prometheus whose one gauge a test turns on and off."""

    def __init__(self) -> None:
        self.value = 0
        self.port = free_port()
        self._runner: web.AppRunner | None = None

    @property
    def target(self) -> str:
        return f"{LOOPBACK}:{self.port}"

    async def start(self) -> Switch:
        async def metrics(_: web.Request) -> web.Response:
            return web.Response(text=f"# TYPE chatops_test_switch gauge\nchatops_test_switch {self.value}\n")

        app = web.Application()
        app.router.add_get("/metrics", metrics)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, LOOPBACK, self.port).start()
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


def demo_rule(name: str = "PetstoreErrorRatioHigh") -> dict[str, object]:
    """A rule of alertmanager/rules.yml as `make demo` runs it, without its `for:` so tests need not wait."""
    groups = yaml.safe_load((ROOT / "alertmanager" / "rules.yml").read_text())["groups"]
    rule = next(r for g in groups for r in g["rules"] if r.get("alert") == name)
    return {k: v for k, v in rule.items() if k != "for"}


SWITCH_RULE: dict[str, object] = {
    "alert": "ChatopsSwitchOn",
    "expr": "chatops_test_switch > 0",
    "labels": {"severity": "critical", "team": "chatops"},
    "annotations": {"summary": "The test switch is on", "description": "Turned on by the e2e test."},
}
