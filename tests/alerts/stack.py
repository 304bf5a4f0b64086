"""Project processes for the alert end-to-end tests: notifier, gateway and ops as subprocesses."""

from __future__ import annotations

import sys
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from aiohttp import web

from tests.harness.petstore import EnvProc
from tests.harness.servers import LOOPBACK, NatsServer, env_with, free_port, wait_http

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "e2e-notifier-token-5f2c"


def _env(**values: str) -> dict[str, str]:
    return env_with(LOG_LEVEL="INFO", PYTHONPATH=str(ROOT), **values)


def metric(url: str, name: str) -> float:
    """One sample from a /metrics page (0 when absent); `name` may include a label set."""
    with urllib.request.urlopen(url, timeout=5) as resp:
        for line in resp.read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.rsplit(" ", 1)[1])
    return 0.0


@dataclass
class Component:
    """`python -m <module>` with its own environment; /healthz (or `ready_path`) on `port` says it is up."""

    module: str
    workdir: Path
    env: dict[str, str]
    port: int
    ready_path: str = "/healthz"
    proc: EnvProc = field(init=False)

    def __post_init__(self) -> None:
        self.proc = EnvProc([sys.executable, "-m", self.module], self.workdir, self.module, env=self.env)

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def start(self, wait: bool = True) -> Component:
        self.proc.start()
        if wait:
            try:
                wait_http(self.url + self.ready_path, proc=self.proc.proc, timeout=60)
            except (TimeoutError, RuntimeError) as exc:
                self.stop()
                raise RuntimeError(f"{self.module} did not start: {exc}\n{self.proc.log_tail()}") from None
        return self

    def stop(self) -> None:
        self.proc.stop()

    def kill(self) -> None:
        self.proc.kill()

    def metric(self, name: str) -> float:
        return metric(self.url + "/metrics", name)


def notifier(workdir: Path, bus: NatsServer) -> Component:
    port = free_port()
    env = _env(**bus.env("notifier"), NOTIFIER_TOKEN=TOKEN, NOTIFIER_LISTEN=f"{LOOPBACK}:{port}")
    return Component("notifier", workdir, env, port)


def gateway(
    workdir: Path,
    bus: NatsServer,
    slack: object,
    oncall: str,
    *,
    admins: str = "",
    alertmanager_url: str = "http://127.0.0.1:9",
) -> Component:
    port = free_port()
    env = _env(
        **bus.env("gateway"),
        SLACK_BOT_TOKEN=slack.bot_token,  # type: ignore[attr-defined]
        SLACK_APP_TOKEN=slack.app_token,  # type: ignore[attr-defined]
        SLACK_API_URL=slack.api_url,  # type: ignore[attr-defined]
        SLACK_ONCALL_CHANNEL=oncall,
        CHATOPS_ADMINS=admins,
        # A killed gateway's alert in hand comes back after this; short so the kill test is quick.
        ALERTS_ACK_WAIT="5",
        GATEWAY_METRICS_LISTEN=f"{LOOPBACK}:{port}",
        ALERTMANAGER_URL=alertmanager_url,
        PROMETHEUS_URL="http://127.0.0.1:9",
    )
    return Component("gateway", workdir, env, port)


def ops(
    workdir: Path,
    bus: NatsServer,
    alertmanager_url: str,
    admins: str,
    *,
    prometheus_url: str = "http://127.0.0.1:9",
) -> Component:
    port = free_port()
    env = _env(
        **bus.env("ops"),
        ALERTMANAGER_URL=alertmanager_url,
        PROMETHEUS_URL=prometheus_url,
        PETSTORE_ADDR=f"{LOOPBACK}:{free_port()}",
        OPS_METRICS_LISTEN=f"{LOOPBACK}:{port}",
        OTLP_LISTEN=f"{LOOPBACK}:{free_port()}",
        TRACE_STORE_PATH=str(workdir / "traces.sqlite3"),
        JAEGER_URL="",
        OTEL_EXPORTER_OTLP_ENDPOINT="",
        CHATOPS_ADMINS=admins,
    )
    return Component("ops", workdir, env, port, ready_path="/metrics")


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


def demo_load(workdir: Path, petstore_addr: str, rate: float = 10.0) -> EnvProc:
    """`python -m petstore demo`: adds and searches, and every fourth tick a malformed call (an error)."""
    args = [sys.executable, "-m", "petstore", "demo", "--addr", petstore_addr, "--rate", f"{rate:g}"]
    return EnvProc(args, workdir, "petstore-demo", env=_env())


SWITCH_RULE: dict[str, object] = {
    "alert": "ChatopsSwitchOn",
    "expr": "chatops_test_switch > 0",
    "labels": {"severity": "critical", "team": "chatops"},
    "annotations": {"summary": "The test switch is on", "description": "Turned on by the e2e test."},
}
