"""A whole system for end-to-end gateway tests: nats, petstore, Prometheus, Alertmanager, ops, Slack."""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from tools.harness import components
from tools.harness.components import UNREACHABLE, Service, get_json, post_json
from tools.harness.deploys import Deployer, Slots
from tools.harness.petstore import Petstore
from tools.harness.ports import LOOPBACK, free_port
from tools.harness.servers import (
    Alertmanager,
    NatsServer,
    Parts,
    Prometheus,
    Silent,
    Startable,
    all_or_nothing,
)
from tools.harness.slackemu import SlackEmulator
from tools.harness.wait import eventually_sync

P = TypeVar("P", bound=Startable)
ADMIN_NAME = "gwadmin"
ALWAYS_FIRING: dict[str, object] = {
    "alert": "GatewayTestAlwaysFiring",
    "expr": "vector(1)",
    "labels": {"severity": "warning", "team": "chatops"},
    "annotations": {"summary": "always firing, for tests"},
}


@dataclass
class Workspace:
    """The emulated Slack's admin (a user made for the test) and its #oncall channel."""

    admin_id: str
    oncall_id: str

    @classmethod
    def of(cls, slack: SlackEmulator) -> Workspace:
        admin = post_json(f"{slack.base_url}/control/users", {"name": ADMIN_NAME})["user"]["id"]
        state = get_json(f"{slack.base_url}/control/state")
        return cls(admin, next(c["id"] for c in state["channels"] if c["name"] == "oncall"))


@dataclass
class World:
    """Everything one test module needs; `add_gateway()` starts one more gateway replica."""

    root: Path
    socket_mode: bool = True
    with_prometheus: bool = False
    tls: bool = False
    slack_rate: float = 1.0  # chat.postMessage per second and channel, like Slack's own limit
    # A deployer answering the deploy commands, with one instance of its own (the petstore above is
    # ops' and Prometheus'; this one only has to exist so that deploy commands get real answers).
    with_deployer: bool = False
    gateways: list[Service] = field(default_factory=list)
    http_port: int = 0
    prometheus: Prometheus | None = None
    alertmanager: Alertmanager | None = None
    deployer: Deployer | None = None
    parts: Parts = field(default_factory=Parts)

    def up(self, part: P) -> P:
        return self.parts.up(part)

    def start(self) -> World:
        all_or_nothing(self._start, self.stop)
        return self

    def _start(self) -> None:
        # Identities on, as in production: each part connects as itself, with least privilege.
        self.nats = self.up(NatsServer(self.root / "nats", identities=True, tls=self.tls))
        otlp_port = free_port()
        otlp = f"http://{LOOPBACK}:{otlp_port}"
        self.petstore = self.up(Petstore(self.root / "petstore", sampler="never", otlp_endpoint=otlp))
        am_url = prom_url = UNREACHABLE
        if self.with_prometheus:
            self.alertmanager = self.up(Alertmanager(self.root / "am"))
            self.prometheus = self.up(
                Prometheus(
                    self.root / "prom",
                    scrape_targets={"petstore": [self.petstore.metrics_target]},
                    rules=[ALWAYS_FIRING],
                    alertmanager_url=self.alertmanager.url,
                )
            )
            am_url, prom_url = self.alertmanager.url, self.prometheus.url
        else:
            # A Prometheus that accepts connections and never answers: ops times out, slowly.
            prom_url = self.up(Silent()).url
        self.http_port = free_port()
        request_url = None if self.socket_mode else f"http://{LOOPBACK}:{self.http_port}/slack/events"
        rate = self.slack_rate
        self.slack = self.up(
            SlackEmulator(
                self.root / "slack", request_url=request_url, rate_per_sec=rate, rate_burst=4 * rate
            )
        )
        self.workspace = Workspace.of(self.slack)
        self.admin_id, self.oncall_id = self.workspace.admin_id, self.workspace.oncall_id
        self.ops = self.up(
            components.ops(
                self.root / "ops",
                self.nats,
                PETSTORE_ADDR=self.petstore.addr,
                PROMETHEUS_URL=prom_url,
                ALERTMANAGER_URL=am_url,
                OTLP_LISTEN=f"{LOOPBACK}:{otlp_port}",
                OPS_BACKEND_TIMEOUT="5",
                CHATOPS_ADMINS=self.admin_id,
            )
        )
        if self.with_deployer:
            admins = f"slack:{self.admin_id}"
            deployer = Deployer(
                self.root / "deployer",
                self.nats,
                prom_url,
                Slots.free(1),
                CHATOPS_ADMINS=admins,
            )
            self.deployer = self.up(deployer)
        self.add_gateway(self.http_port)
        if self.socket_mode:
            eventually_sync(
                lambda: get_json(f"{self.slack.base_url}/control/state")["socket_connections"] >= 1,
                timeout=60,
                what="the gateway's Socket Mode connection",
            )
        if self.prometheus is not None:
            self.until_firing(self.prometheus)

    @staticmethod
    def until_firing(prometheus: Prometheus) -> None:
        query = urllib.parse.quote('petstore_build_info{job="petstore"}')
        eventually_sync(
            lambda: get_json(f"{prometheus.url}/api/v1/query?query={query}")["data"]["result"],
            timeout=60,
            what="Prometheus scraping the petstore",
        )
        eventually_sync(
            lambda: any(
                a["state"] == "firing" for a in get_json(f"{prometheus.url}/api/v1/alerts")["data"]["alerts"]
            ),
            timeout=60,
            what="the test alert firing",
        )

    def add_gateway(self, http_port: int = 0) -> Service:
        """Start one more gateway replica on the same bus and Slack."""
        port = http_port or free_port()
        gateway = components.gateway(
            self.root / f"gateway-{port}",
            self.nats,
            self.slack,
            name=f"gateway-{port}",
            socket_mode=self.socket_mode,
            http_port=port,
            CHATOPS_ADMINS=self.admin_id,
            CHATOPS_CONFIRM_TTL="300",
            CHATOPS_COMMAND_TIMEOUT="8",
            # A message a replica killed mid-answer held is answered by another this soon.
            CHATOPS_RECOVER_AFTER="4",
            SLACK_ONCALL_CHANNEL=self.oncall_id,
            # The gateway keeps to the emulator's pace, a little under its burst.
            SLACK_POST_RATE=str(self.slack_rate),
            SLACK_POST_BURST=str(3 * self.slack_rate),
        )
        self.gateways.append(self.up(gateway))
        return gateway

    def stop(self) -> None:
        self.parts.stop()

    def logs(self) -> str:
        parts = [f"--- {gw.name}\n{gw.log_tail(40)}" for gw in self.gateways]
        parts.append(f"--- ops\n{self.ops.log_tail(30)}")
        return "\n".join(parts)
