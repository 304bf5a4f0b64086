"""The local stack as data: what a component is, how a stack is configured, and the servers it runs
(nats-server, Prometheus, Alertmanager) as components; `chatops.launcher.plan` puts a stack together."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from chatops import nats_server, redact
from chatops.access.files import AccessFiles
from chatops.launcher.configs import RESEND_DELAY, ConfigFiles
from chatops.launcher.ports import LOOPBACK, NATS_NODES, Ports
from chatops.streams import Limits


@dataclass(frozen=True)
class Health:
    """How to tell a component is ready: an HTTP URL answering 200, or a TCP port accepting."""

    url: str = ""
    tcp: int = 0

    def __str__(self) -> str:
        return self.url or f"tcp {LOOPBACK}:{self.tcp}"


@dataclass(frozen=True)
class Component:
    """One supervised process."""

    name: str
    argv: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)
    health: Health | None = None
    where: str = ""  # shown in the table: what a person would open or connect to
    install_hint: str = ""  # what to run when argv[0] is missing

    @property
    def binary(self) -> str:
        return self.argv[0]


@dataclass(frozen=True)
class EmulatedSlack:
    """The offline Slack the stack starts when no Slack tokens are configured."""

    bot_token: str
    app_token: str
    signing_secret: str
    oncall_channel: str = ""  # its id, known once the emulator answers
    webhook_secret: str = ""  # its incoming webhook for #oncall, where alerts about chatops go


@dataclass(frozen=True)
class StackOptions:
    """Everything the plan depends on; built once by the launcher from its flags and settings."""

    ports: Ports
    data_dir: Path
    configs: ConfigFiles
    notifier_token: str
    # The release manifest the deployer reads: the checkout's, unless `--releases` names another.
    releases: Path = Path(__file__).resolve().parents[2] / "releases.yaml"
    nats_url: str = ""  # an existing NATS; empty starts nats-server
    demo_load: bool = True
    slack: EmulatedSlack | None = None  # None: the gateway uses the Slack tokens from the environment
    python: str = sys.executable
    log_level: str = "INFO"
    binaries: Mapping[str, str] = field(default_factory=dict)  # nats-server / prometheus / alertmanager
    source_root: Path | None = None  # the checkout holding the packages, when running from one
    # CHATOPS_ADMINS for the gateway and ops alike, so both refuse and allow the same people.
    admins: tuple[str, ...] = ()
    # The identities, the server config and (with --tls) the certificates, when the stack runs its
    # own NATS; with an existing NATS the components connect as the environment says.
    access: AccessFiles | None = None
    limits: Limits = field(default_factory=Limits)  # the streams' limits and replicas, from the settings
    # `--cluster 3`: three NATS nodes, two of each chatops component and of Alertmanager; 1: one of each.
    cluster: int = 1

    @property
    def replicas(self) -> tuple[int, ...]:
        """The replica numbers of each chatops component: (1,) alone, (1, 2) in a cluster."""
        return (1, 2) if self.cluster > 1 else (1,)

    def named(self, base: str, replica: int) -> str:
        """`ops` alone; `ops-1`, `ops-2` in a cluster, so the table shows each replica."""
        return f"{base}-{replica}" if self.cluster > 1 else base

    def port(self, name: str, replica: int) -> int:
        """The port `name` (a Ports field) of a replica: the second's is the same name with a 2."""
        return self.ports.named()[name if replica == 1 else _second(name)]

    @property
    def bus_url(self) -> str:
        """Every node's URL: a component that loses its node moves to another by itself."""
        if self.nats_url:
            return self.nats_url
        scheme = "tls" if self.access is not None and self.access.use_tls else "nats"
        nodes = NATS_NODES[: self.cluster] if self.cluster > 1 else NATS_NODES[:1]
        return ",".join(f"{scheme}://{self.ports.addr(client)}" for client, _ in nodes)

    @property
    def shown_bus_url(self) -> str:
        """The bus as the table and state.json show it: without any user:password."""
        return redact.urls(self.bus_url)


def _apt(package: str) -> str:
    return f"install it with `sudo apt-get install {package}` (or run `make demo`, which does)"


def _second(name: str) -> str:
    """`ops_metrics` -> `ops2_metrics`, `notifier` -> `notifier2`: the second replica's port."""
    base, sep, rest = name.partition("_")
    return f"{base}2{sep}{rest}"


def nats_component(
    binary: str, port: int, store: Path, *, config: Path | None = None, name: str = "nats", where: str = ""
) -> Component:
    """nats-server with JetStream on loopback `port`, its store in `store`; or all of it from `config`
    (the accounts, identities and TLS `chatops access` writes)."""
    argv: tuple[str, ...] = (binary, "--config", str(config))
    if config is None:
        argv = (binary, "-a", LOOPBACK, "-p", str(port), "-js", "-sd", str(store), "-n", f"{name}-{port}")
    return Component(name, argv, health=Health(tcp=port), where=where, install_hint=nats_server.INSTALL_HINT)


def prometheus_component(
    binary: str,
    port: int,
    config: Path,
    data: Path,
    *,
    resend_delay: str = RESEND_DELAY,
    name: str = "prometheus",
    extra: tuple[str, ...] = (),
) -> Component:
    """Prometheus on loopback `port` with `config`, its TSDB in `data`."""
    url = f"http://{LOOPBACK}:{port}"
    return Component(
        name,
        (
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={data}",
            f"--web.listen-address={LOOPBACK}:{port}",
            f"--web.external-url={url}",
            f"--rules.alert.resend-delay={resend_delay}",
            *extra,
        ),
        health=Health(url=f"{url}/-/ready"),
        where=url,
        install_hint=_apt("prometheus"),
    )


def alertmanager_component(
    binary: str,
    port: int,
    config: Path,
    data: Path,
    *,
    cluster_port: int = 0,
    peers: tuple[str, ...] = (),
    name: str = "alertmanager",
) -> Component:
    """Alertmanager on loopback `port` with `config`, its state in `data`. Alone (no gossip port to
    collide with) unless `cluster_port` is given; `peers` (host:port) make an HA cluster."""
    url = f"http://{LOOPBACK}:{port}"
    cluster = f"{LOOPBACK}:{cluster_port}" if cluster_port else ""
    return Component(
        name,
        (
            binary,
            f"--config.file={config}",
            f"--storage.path={data}",
            f"--web.listen-address={LOOPBACK}:{port}",
            f"--web.external-url={url}",
            f"--cluster.listen-address={cluster}",
            *(f"--cluster.peer={peer}" for peer in peers),
        ),
        health=Health(url=f"{url}/-/ready"),
        where=url,
        install_hint=_apt("prometheus-alertmanager"),
    )
