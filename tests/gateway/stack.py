"""A whole system for end-to-end gateway tests: nats, petstore, Prometheus, Alertmanager, ops, Slack."""

from __future__ import annotations

import json
import socket
import sys
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.deployer.stack import DeployerProc, Slots, deployer_env
from tests.harness.petstore import EnvProc, Petstore
from tests.harness.servers import (
    LOOPBACK,
    Alertmanager,
    NatsServer,
    Prometheus,
    env_with,
    free_port,
    wait_http,
)
from tests.harness.slackemu import SlackEmulator

ROOT = Path(__file__).resolve().parents[2]
ALWAYS_FIRING: dict[str, object] = {
    "alert": "GatewayTestAlwaysFiring",
    "expr": "vector(1)",
    "labels": {"severity": "warning", "team": "chatops"},
    "annotations": {"summary": "always firing, for tests"},
}


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return json.loads(resp.read())


def wait_until(what: str, check, timeout: float = 60.0) -> None:
    """Poll `check()` until it is truthy; fail naming `what`."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except OSError as exc:
            last = exc
        time.sleep(0.2)
    raise TimeoutError(f"{what} did not happen within {timeout}s ({last})")


@dataclass
class Ops:
    """`python -m ops` as a subprocess; stop and start it again on the same ports."""

    workdir: Path
    env: dict[str, str]
    metrics_port: int
    proc: EnvProc = field(init=False)

    def __post_init__(self) -> None:
        self.proc = EnvProc([sys.executable, "-m", "ops"], self.workdir, "ops", env=self.env)

    def start(self) -> Ops:
        self.proc.start()
        try:
            wait_http(f"http://{LOOPBACK}:{self.metrics_port}/metrics", proc=self.proc.proc, timeout=60)
        except (TimeoutError, RuntimeError) as exc:
            raise RuntimeError(f"ops did not start: {exc}\n{self.proc.log_tail()}") from None
        return self

    def stop(self) -> None:
        self.proc.stop()


@dataclass
class Gateway:
    """`python -m gateway` as a subprocess (one replica)."""

    workdir: Path
    env: dict[str, str]
    metrics_port: int
    name: str = "gateway"
    proc: EnvProc = field(init=False)

    def __post_init__(self) -> None:
        self.proc = EnvProc([sys.executable, "-m", "gateway"], self.workdir, self.name, env=self.env)

    @property
    def metrics_url(self) -> str:
        return f"http://{LOOPBACK}:{self.metrics_port}/metrics"

    def start(self) -> Gateway:
        self.proc.start()
        try:
            wait_http(f"http://{LOOPBACK}:{self.metrics_port}/healthz", proc=self.proc.proc, timeout=60)
        except (TimeoutError, RuntimeError) as exc:
            raise RuntimeError(f"gateway did not start: {exc}\n{self.proc.log_tail()}") from None
        return self

    def stop(self) -> None:
        self.proc.stop()

    def metric(self, name: str) -> float:
        """The value of one unlabelled sample on /metrics (0 when absent)."""
        with urllib.request.urlopen(self.metrics_url, timeout=5) as resp:
            for line in resp.read().decode().splitlines():
                if line.startswith(name + " "):
                    return float(line.split()[1])
        return 0.0


ADMIN_NAME = "gwadmin"


@dataclass
class World:
    """Everything one test module needs; `gateway_env()` builds a gateway replica's environment."""

    root: Path
    socket_mode: bool
    with_prometheus: bool
    tls: bool = False
    nats: NatsServer = field(init=False)
    petstore: Petstore = field(init=False)
    slack: SlackEmulator = field(init=False)
    ops: Ops = field(init=False)
    prometheus: Prometheus | None = None
    alertmanager: Alertmanager | None = None
    gateways: list[Gateway] = field(default_factory=list)
    admin_id: str = ""
    oncall_id: str = ""
    http_port: int = 0
    silent: socket.socket | None = None
    slack_rate: float = 1.0  # chat.postMessage per second and channel, like Slack's own limit
    # A deployer answering the deploy commands, with one instance of its own (the petstore above is
    # ops' and Prometheus'; this one only has to exist so that deploy commands get real answers).
    with_deployer: bool = False
    deployer: DeployerProc | None = None
    _started: list[object] = field(default_factory=list)

    def start(self) -> World:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        # Identities on, as in production: each part connects as itself, with least privilege.
        self.nats = NatsServer(self.root / "nats", identities=True, tls=self.tls).start()
        self._started.append(self.nats)
        otlp_port = free_port()
        self.petstore = Petstore(
            self.root / "petstore", sampler="never", otlp_endpoint=f"http://{LOOPBACK}:{otlp_port}"
        ).start()
        self._started.append(self.petstore)
        am_url = prom_url = f"http://{LOOPBACK}:9"
        if not self.with_prometheus:
            # A Prometheus that accepts connections and never answers: ops times out, slowly.
            self.silent = socket.create_server((LOOPBACK, 0))
            prom_url = f"http://{LOOPBACK}:{self.silent.getsockname()[1]}"
        if self.with_prometheus:
            self.alertmanager = Alertmanager(self.root / "am").start()
            self._started.append(self.alertmanager)
            self.prometheus = Prometheus(
                self.root / "prom",
                scrape_targets={"petstore": [self.petstore.metrics_target]},
                rules=[ALWAYS_FIRING],
                alertmanager_url=self.alertmanager.url,
            ).start()
            self._started.append(self.prometheus)
            am_url, prom_url = self.alertmanager.url, self.prometheus.url
        self.http_port = free_port()
        request_url = None if self.socket_mode else f"http://{LOOPBACK}:{self.http_port}/slack/events"
        self.slack = SlackEmulator(
            self.root / "slack",
            request_url=request_url,
            rate_per_sec=self.slack_rate,
            rate_burst=4 * self.slack_rate,
        ).start()
        self._started.append(self.slack)
        admin = _control_post(self.slack.base_url, "/control/users", {"name": ADMIN_NAME})
        self.admin_id = admin["user"]["id"]
        state = _control_get(self.slack.base_url, "/control/state")
        self.oncall_id = next(c["id"] for c in state["channels"] if c["name"] == "oncall")
        ops_metrics = free_port()
        self.ops = Ops(
            self.root / "ops",
            env_with(
                **self.nats.env("ops"),
                PETSTORE_ADDR=self.petstore.addr,
                PROMETHEUS_URL=prom_url,
                ALERTMANAGER_URL=am_url,
                TRACE_STORE_PATH=str(self.root / "ops" / "traces.sqlite3"),
                OTLP_LISTEN=f"{LOOPBACK}:{otlp_port}",
                OPS_METRICS_LISTEN=f"{LOOPBACK}:{ops_metrics}",
                OPS_BACKEND_TIMEOUT="5",
                CHATOPS_ADMINS=self.admin_id,
                JAEGER_URL="",
                OTEL_EXPORTER_OTLP_ENDPOINT="",
                LOG_LEVEL="INFO",
                PYTHONPATH=str(ROOT),
            ),
            ops_metrics,
        ).start()
        self._started.append(self.ops)
        if self.with_deployer:
            env, port = deployer_env(
                self.root / "deployer", self.nats, prom_url, Slots.free(1), f"slack:{self.admin_id}"
            )
            self.deployer = DeployerProc(self.root / "deployer", env, port).start()
            self._started.append(self.deployer)
        self.gateways.append(self.add_gateway(self.http_port))
        if self.socket_mode:
            wait_until(
                "the gateway's Socket Mode connection",
                lambda: _control_get(self.slack.base_url, "/control/state")["socket_connections"] >= 1,
            )
        if self.prometheus is not None:
            query = urllib.parse.quote('petstore_build_info{job="petstore"}')
            prom = self.prometheus.url
            wait_until(
                "Prometheus scraping the petstore",
                lambda: _get_json(f"{prom}/api/v1/query?query={query}")["data"]["result"],
            )
            wait_until(
                "the test alert firing",
                lambda: any(
                    a["state"] == "firing" for a in _get_json(f"{prom}/api/v1/alerts")["data"]["alerts"]
                ),
            )

    def gateway_env(self, http_port: int) -> dict[str, str]:
        mode = (
            {"SLACK_APP_TOKEN": self.slack.app_token}
            if self.socket_mode
            else {"SLACK_SIGNING_SECRET": self.slack.signing_secret, "SLACK_APP_TOKEN": ""}
        )
        return env_with(
            **self.nats.env("gateway"),
            SLACK_BOT_TOKEN=self.slack.bot_token,
            SLACK_API_URL=self.slack.api_url,
            SLACK_HTTP_LISTEN=f"{LOOPBACK}:{http_port}",
            CHATOPS_ADMINS=self.admin_id,
            CHATOPS_CONFIRM_TTL="300",
            CHATOPS_COMMAND_TIMEOUT="8",
            SLACK_ONCALL_CHANNEL=self.oncall_id,
            LOG_LEVEL="INFO",
            PYTHONPATH=str(ROOT),
            **mode,
        )

    def add_gateway(self, http_port: int | None = None) -> Gateway:
        """Start one more gateway replica on the same bus and Slack."""
        port = http_port or free_port()
        metrics = free_port()
        env = self.gateway_env(port)
        env["GATEWAY_METRICS_LISTEN"] = f"{LOOPBACK}:{metrics}"
        gw = Gateway(self.root / f"gateway-{port}", env, metrics, name=f"gateway-{port}").start()
        self._started.append(gw)
        return gw

    def stop(self) -> None:
        for part in reversed(self._started):
            part.stop()  # type: ignore[attr-defined]
        self._started.clear()
        if self.silent is not None:
            self.silent.close()

    def logs(self) -> str:
        parts = [f"--- {gw.name}\n{gw.proc.log_tail(40)}" for gw in self.gateways]
        parts.append(f"--- ops\n{self.ops.proc.log_tail(30)}")
        return "\n".join(parts)


def _control_get(base: str, path: str) -> Any:
    return _get_json(base + path)


def _control_post(base: str, path: str, body: dict[str, object]) -> Any:
    req = urllib.request.Request(
        base + path,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=5) as resp:
        return json.loads(resp.read())
