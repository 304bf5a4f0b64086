"""The local stack as data: which processes run, with what arguments, environment and health check."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from chatops import nats_server, redact
from chatops.access.files import AccessFiles
from chatops.launcher.configs import RESEND_DELAY, ConfigFiles
from chatops.launcher.ports import LOOPBACK, Ports
from chatops.streams import Limits

# How many petstore requests per second the demo load sends (its own default error mix makes the
# error-ratio rule in alertmanager/rules.yml fire).
DEMO_RATE = "4"


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

    @property
    def bus_url(self) -> str:
        if self.nats_url:
            return self.nats_url
        scheme = "tls" if self.access is not None and self.access.use_tls else "nats"
        return f"{scheme}://{self.ports.addr('nats')}"

    @property
    def shown_bus_url(self) -> str:
        """The bus as the table and state.json show it: without any user:password."""
        return redact.urls(self.bus_url)


def _apt(package: str) -> str:
    return f"install it with `sudo apt-get install {package}` (or run `make demo`, which does)"


def _python_env(opts: StackOptions, identity: str = "", **extra: str) -> dict[str, str]:
    """A Python component's environment; with `identity` it connects to the bus as that identity."""
    env = {"NATS_URL": opts.bus_url, "LOG_LEVEL": opts.log_level, "PYTHONUNBUFFERED": "1", **extra}
    if identity and opts.access is not None:
        env |= opts.access.env(identity)
    if opts.source_root:
        # `python -m ops` finds a source checkout's packages from any working directory.
        env["PYTHONPATH"] = str(opts.source_root)
    return env


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


def nats(opts: StackOptions) -> Component:
    binary = opts.binaries.get("nats-server", "nats-server")
    # With access files: accounts, one nkey user per identity, least privilege (and TLS).
    config = opts.access.config if opts.access is not None else None
    return nats_component(
        binary, opts.ports.nats, opts.data_dir / "nats", config=config, where=opts.shown_bus_url
    )


def prometheus(opts: StackOptions) -> Component:
    binary = opts.binaries.get("prometheus", "prometheus")
    data = opts.data_dir / "prometheus"
    return prometheus_component(binary, opts.ports.prometheus, opts.configs.prometheus, data)


def alertmanager(opts: StackOptions) -> Component:
    binary = opts.binaries.get("alertmanager", "prometheus-alertmanager")
    data = opts.data_dir / "alertmanager"
    return alertmanager_component(binary, opts.ports.alertmanager, opts.configs.alertmanager, data)


# The petstore instances the deployer owns: (gRPC, /metrics) port names, in slot order.
INSTANCES = (("petstore", "petstore_metrics"), ("petstore2", "petstore2_metrics"))


def petstore_addrs(opts: StackOptions) -> str:
    """Every instance's gRPC address: where ops and the demo load send calls (round robin)."""
    return ",".join(opts.ports.addr(grpc) for grpc, _ in INSTANCES)


def ops(opts: StackOptions) -> Component:
    p = opts.ports
    env = _python_env(
        opts,
        "ops",
        PETSTORE_ADDR=petstore_addrs(opts),
        PROMETHEUS_URL=p.url("prometheus"),
        ALERTMANAGER_URL=p.url("alertmanager"),
        JAEGER_URL="",  # the local trace store
        TRACE_STORE_PATH=str(opts.data_dir / "traces.sqlite3"),
        OTLP_LISTEN=p.addr("otlp"),
        OPS_METRICS_LISTEN=p.addr("ops_metrics"),
        CHATOPS_ADMINS=",".join(opts.admins),
    )
    return Component(
        "ops",
        (opts.python, "-m", "ops"),
        env,
        Health(url=p.url("ops_metrics", "/healthz")),
        where=f"traces {p.url('otlp')}",
    )


def deployer(opts: StackOptions) -> Component:
    """The deploy agent; it starts the petstore instances itself (at the manifest's first release)."""
    p = opts.ports
    env = _python_env(
        opts,
        "deployer",
        DEPLOY_RELEASES=str(opts.releases),
        DEPLOY_INSTANCES=",".join(f"{p.addr(grpc)}/{p.addr(metrics)}" for grpc, metrics in INSTANCES),
        DEPLOY_STATE_DIR=str(opts.data_dir / "deployer"),
        DEPLOYER_METRICS_LISTEN=p.addr("deployer_metrics"),
        PROMETHEUS_URL=p.url("prometheus"),
        CHATOPS_ADMINS=",".join(opts.admins),
        # For the deployer's own spans and, inherited, its instances' (the petstore's OTLP exporter).
        OTEL_EXPORTER_OTLP_ENDPOINT=p.url("otlp"),
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=p.url("otlp", "/v1/traces"),
    )
    return Component(
        "deployer",
        (opts.python, "-m", "deployer"),
        env,
        Health(url=p.url("deployer_metrics", "/healthz")),
        where=f"petstore grpc {petstore_addrs(opts)}",
    )


def demo_load(opts: StackOptions) -> Component:
    env = _python_env(opts, PETSTORE_ADDR=petstore_addrs(opts))
    return Component(
        "demo-load",
        (opts.python, "-m", "petstore", "demo", "--rate", DEMO_RATE),
        env,
        where=f"-> {petstore_addrs(opts)}",
    )


def notifier(opts: StackOptions) -> Component:
    p = opts.ports
    env = _python_env(
        opts, "notifier", NOTIFIER_TOKEN=opts.notifier_token, NOTIFIER_LISTEN=p.addr("notifier")
    )
    return Component(
        "notifier",
        (opts.python, "-m", "notifier"),
        env,
        Health(url=p.url("notifier", "/healthz")),
        where=p.url("notifier", "/alerts"),
    )


def slackemu(opts: StackOptions, slack: EmulatedSlack) -> Component:
    p = opts.ports
    env = _python_env(
        opts,
        SLACKEMU_LISTEN=p.addr("slackemu"),
        SLACKEMU_BOT_TOKEN=slack.bot_token,
        SLACKEMU_APP_TOKEN=slack.app_token,
        SLACKEMU_SIGNING_SECRET=slack.signing_secret,
        SLACKEMU_WEBHOOK_SECRET=slack.webhook_secret,
        SLACKEMU_WEBHOOK_CHANNEL="oncall",
        # Kept beside JetStream and Alertmanager's notification log, so that after a restart the
        # offline Slack still shows what they say was posted (a firing alert stays in #oncall).
        SLACKEMU_STATE_FILE=str(opts.data_dir / "slack.json"),
    )
    return Component(
        "slackemu",
        (opts.python, "-m", "slackemu"),
        env,
        Health(url=p.url("slackemu", "/healthz")),
        where=p.url("slackemu", "/"),
    )


def gateway(opts: StackOptions) -> Component:
    p = opts.ports
    extra = {
        "GATEWAY_METRICS_LISTEN": p.addr("gateway_metrics"),
        "SLACK_HTTP_LISTEN": p.addr("gateway_http"),
        "PROMETHEUS_URL": p.url("prometheus"),
        "ALERTMANAGER_URL": p.url("alertmanager"),
        "CHATOPS_ADMINS": ",".join(opts.admins),
    }
    where = "your Slack workspace"
    if opts.slack is not None:
        extra |= {
            "SLACK_API_URL": p.url("slackemu", "/api/"),
            "SLACK_BOT_TOKEN": opts.slack.bot_token,
            "SLACK_APP_TOKEN": opts.slack.app_token,
            "SLACK_SIGNING_SECRET": "",
            "SLACK_ONCALL_CHANNEL": opts.slack.oncall_channel,
        }
        where = "the offline Slack (Socket Mode)"
    return Component(
        "gateway",
        (opts.python, "-m", "gateway"),
        _python_env(opts, "gateway", **extra),
        Health(url=p.url("gateway_metrics", "/healthz")),
        where=where,
    )


def plan(opts: StackOptions) -> tuple[Component, ...]:
    """Every component in start order: each one's dependencies come before it."""
    parts = [] if opts.nats_url else [nats(opts)]
    parts += [prometheus(opts), alertmanager(opts)]
    if opts.slack is not None:
        # Before ops and the gateway: both are told the offline Slack's user ids as admins.
        parts.append(slackemu(opts, opts.slack))
    parts += [ops(opts), deployer(opts), notifier(opts), gateway(opts)]
    if opts.demo_load:
        parts.append(demo_load(opts))
    return tuple(parts)


def listening_ports(opts: StackOptions) -> dict[str, int]:
    """The ports this plan will bind, by component, for the in-use check before anything starts."""
    p = opts.ports
    wanted = {
        "prometheus": p.prometheus,
        "alertmanager": p.alertmanager,
        "ops": p.ops_metrics,
        "ops OTLP receiver": p.otlp,
        "petstore": p.petstore,
        "petstore metrics": p.petstore_metrics,
        "petstore-2": p.petstore2,
        "petstore-2 metrics": p.petstore2_metrics,
        "deployer": p.deployer_metrics,
        "notifier": p.notifier,
        "gateway metrics": p.gateway_metrics,
    }
    if not opts.nats_url:
        wanted = {"nats": p.nats, **wanted}
    if opts.slack is not None:
        wanted["slackemu"] = p.slackemu
    return wanted
