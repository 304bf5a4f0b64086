"""The project's own processes for tests and benchmarks: ops, the gateway, the notifier and the
deployer as subprocesses, each on the bus as its own identity, every listener on a free loopback
port and every backend unreachable unless a test says otherwise (calls to it fail fast)."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from chatops.launcher.spec import Health
from tools.harness.ports import LOOPBACK, free_port
from tools.harness.procs import ROOT, Process, python_component
from tools.harness.slackemu import SlackEmulator

UNREACHABLE = f"http://{LOOPBACK}:9"  # the discard port: nothing listens, so calls fail at once
NOTIFIER_TOKEN = "test-notifier-token-5f2c"  # the bearer token test Alertmanagers send the notifier
RELEASES = ROOT / "releases.yaml"


def get_json(url: str, timeout: float = 5.0) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return json.loads(resp.read())


def post_json(url: str, body: object, timeout: float = 5.0) -> Any:
    req = urllib.request.Request(
        url, data=json.dumps(body).encode(), method="POST", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.loads(resp.read())


def metric(url: str, name: str) -> float:
    """One sample of a /metrics page (0 when absent); `name` may include a label set."""
    with urllib.request.urlopen(url, timeout=5) as resp:
        for line in resp.read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.rsplit(" ", 1)[1])
    return 0.0


@dataclass
class Service:
    """A project process and its HTTP port (/healthz, /metrics, and the notifier's /alerts)."""

    proc: Process
    port: int

    @property
    def name(self) -> str:
        return self.proc.name

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def env(self) -> Mapping[str, str]:
        return self.proc.component.env

    def start(self, *, wait: bool = True, timeout: float = 60.0) -> Service:
        self.proc.start(wait=wait, timeout=timeout)
        return self

    def stop(self) -> None:
        self.proc.stop()

    def kill(self) -> None:
        self.proc.kill()

    def log_tail(self, lines: int = 40) -> str:
        return self.proc.log_tail(lines)

    def metric(self, name: str) -> float:
        return metric(f"{self.url}/metrics", name)

    def answers(self, path: str, status: int = 200, timeout: float = 60.0) -> None:
        """Until GET `path` answers `status` (at once RuntimeError if the process exits first)."""
        self.proc.answers(Health(url=f"{self.url}{path}"), status, timeout)


def service(name: str, module: str, workdir: Path, env: Mapping[str, str], port: int) -> Service:
    """`python -m <module>`, healthy when /healthz on `port` answers 200."""
    health = Health(url=f"http://{LOOPBACK}:{port}/healthz")
    return Service(Process(python_component(name, module, env=env, health=health), workdir), port)


class Bus(Protocol):
    """Where a component connects, as which identity (a NatsServer; one not started is unreachable)."""

    def env(self, name: str) -> dict[str, str]: ...


def ops_env(workdir: Path, bus: Bus, **env: str) -> dict[str, str]:
    """Ops' settings: a local trace store in `workdir`, free ports, unreachable backends, then `env`."""
    return {
        **bus.env("ops"),
        "PETSTORE_ADDR": f"{LOOPBACK}:{free_port()}",
        "PROMETHEUS_URL": UNREACHABLE,
        "ALERTMANAGER_URL": UNREACHABLE,
        "JAEGER_URL": "",
        "TRACE_STORE_PATH": str(workdir / "traces.sqlite3"),
        "OTLP_LISTEN": f"{LOOPBACK}:{free_port()}",
        "OPS_METRICS_LISTEN": f"{LOOPBACK}:{free_port()}",
        "OTEL_EXPORTER_OTLP_ENDPOINT": "",
        **env,
    }


def ops(workdir: Path, bus: Bus, *, name: str = "ops", **env: str) -> Service:
    """`python -m ops` (see `ops_env`)."""
    port = free_port()
    values = ops_env(workdir, bus, OPS_METRICS_LISTEN=f"{LOOPBACK}:{port}", **env)
    return service(name, "ops", workdir, values, port)


def notifier(workdir: Path, bus: Bus, **env: str) -> Service:
    """`python -m notifier`, taking webhooks with NOTIFIER_TOKEN at `.url` + /alerts."""
    port = free_port()
    values = {
        **bus.env("notifier"),
        "NOTIFIER_TOKEN": NOTIFIER_TOKEN,
        "NOTIFIER_LISTEN": f"{LOOPBACK}:{port}",
        **env,
    }
    return service("notifier", "notifier", workdir, values, port)


def gateway_env(
    bus: Bus, slack: SlackEmulator, metrics_port: int, *, socket_mode: bool = True, http_port: int = 0
) -> dict[str, str]:
    """The gateway's settings on `slack`: over Socket Mode, or taking signed Events API POSTs on
    `http_port` (a free one when 0); its /metrics and /healthz on `metrics_port`."""
    mode = (
        {"SLACK_APP_TOKEN": slack.app_token}
        if socket_mode
        else {"SLACK_SIGNING_SECRET": slack.signing_secret, "SLACK_APP_TOKEN": ""}
    )
    return {
        **bus.env("gateway"),
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_API_URL": slack.api_url,
        **mode,
        "SLACK_HTTP_LISTEN": f"{LOOPBACK}:{http_port or free_port()}",
        "GATEWAY_METRICS_LISTEN": f"{LOOPBACK}:{metrics_port}",
    }


def gateway(
    workdir: Path,
    bus: Bus,
    slack: SlackEmulator,
    *,
    name: str = "gateway",
    socket_mode: bool = True,
    http_port: int = 0,
    **env: str,
) -> Service:
    """`python -m gateway` on `slack` (see `gateway_env`), then `env`."""
    port = free_port()
    values = {**gateway_env(bus, slack, port, socket_mode=socket_mode, http_port=http_port), **env}
    return service(name, "gateway", workdir, values, port)


def deployer(workdir: Path, bus: Bus, prometheus_url: str, instances: str, **env: str) -> Service:
    """`python -m deployer` owning `instances` (DEPLOY_INSTANCES), with windows short enough for tests;
    its state in `workdir`/state, so a restarted one picks up where the events say."""
    port = free_port()
    values = {
        **bus.env("deployer"),
        "PROMETHEUS_URL": prometheus_url,
        "DEPLOY_RELEASES": str(RELEASES),
        "DEPLOY_INSTANCES": instances,
        "DEPLOY_STATE_DIR": str(workdir / "state"),
        "DEPLOY_SETTLE_SECONDS": "4",
        "DEPLOY_CHECK_INTERVAL": "0.3",
        "DEPLOY_MIN_CALLS": "5",
        "DEPLOY_LOCK_TTL": "2",
        "DEPLOY_AGENT": "test-host",
        "DEPLOYER_METRICS_LISTEN": f"{LOOPBACK}:{port}",
        "PETSTORE_SAMPLER": "never",
        "OTEL_TRACES_EXPORTER": "none",
        "OTEL_EXPORTER_OTLP_ENDPOINT": "",
        **env,
    }
    return service("deployer", "deployer", workdir, values, port)


def demo_load(workdir: Path, petstore_addr: str, rate: float = 10.0) -> Process:
    """`python -m petstore demo`: adds and searches, and every fourth tick a malformed call (an error)."""
    args = ("petstore", "demo", "--addr", petstore_addr, "--rate", f"{rate:g}")
    return Process(python_component("petstore-demo", *args, env={}, health=None), workdir)
