"""The local stack's plan: which processes run, in which order, with what arguments, environment and
health check; one of each, or with `--cluster 3` three NATS nodes and two of each chatops component."""

from __future__ import annotations

from pathlib import Path

from chatops.launcher.ports import LOOPBACK, NATS_NODES
from chatops.launcher.spec import (
    Component,
    EmulatedSlack,
    Health,
    StackOptions,
    alertmanager_component,
    nats_component,
    prometheus_component,
)

# How many petstore requests per second the demo load sends (its own default error mix makes the
# error-ratio rule in alertmanager/rules.yml fire).
DEMO_RATE = "4"


def _python_env(opts: StackOptions, identity: str = "", **extra: str) -> dict[str, str]:
    """A Python component's environment; with `identity` it connects to the bus as that identity."""
    env = {
        "NATS_URL": opts.bus_url,
        "LOG_LEVEL": opts.log_level,
        "PYTHONUNBUFFERED": "1",
        # What a component creates when it finds its stream missing: the same as the provisioner.
        "CHATOPS_REPLICAS": str(opts.limits.replicas),
        **extra,
    }
    if identity and opts.access is not None:
        env |= opts.access.env(identity)
    if opts.source_root:
        # `python -m ops` finds a source checkout's packages from any working directory.
        env["PYTHONPATH"] = str(opts.source_root)
    return env


def nats_store(opts: StackOptions, node: int) -> Path:
    """Node `node`'s JetStream store (1-based); a single server keeps the one it always had."""
    return opts.data_dir / (f"nats-{node}" if opts.cluster > 1 else "nats")


def nats(opts: StackOptions) -> list[Component]:
    """One nats-server, or each node of the cluster (routes and the same accounts in every config)."""
    binary = opts.binaries.get("nats-server", "nats-server")
    if opts.cluster == 1:
        # With access files: accounts, one nkey user per identity, least privilege (and TLS).
        config = opts.access.config if opts.access is not None else None
        store = nats_store(opts, 1)
        return [nats_component(binary, opts.ports.nats, store, config=config, where=opts.shown_bus_url)]
    assert opts.access is not None, "a cluster runs the configs `chatops access` writes"
    found = []
    for node, (client, route) in enumerate(NATS_NODES[: opts.cluster], start=1):
        port = opts.ports.named()[client]
        where = f"{opts.ports.addr(client)} (routes {opts.ports.addr(route)})"
        found.append(
            nats_component(
                binary,
                port,
                nats_store(opts, node),
                config=opts.access.node_config(node),
                name=f"nats-{node}",
                where=where,
            )
        )
    return found


def prometheus(opts: StackOptions) -> Component:
    binary = opts.binaries.get("prometheus", "prometheus")
    data = opts.data_dir / "prometheus"
    return prometheus_component(binary, opts.ports.prometheus, opts.configs.prometheus, data)


def alertmanager(opts: StackOptions, replica: int = 1) -> Component:
    """Alertmanager; in a cluster one of an HA pair, gossiping with the other (`--cluster.peer`)."""
    binary = opts.binaries.get("alertmanager", "prometheus-alertmanager")
    name = opts.named("alertmanager", replica)
    data = opts.data_dir / name
    port = opts.port("alertmanager", replica)
    if opts.cluster == 1:
        return alertmanager_component(binary, port, opts.configs.alertmanager, data)
    other = 2 if replica == 1 else 1
    return alertmanager_component(
        binary,
        port,
        opts.configs.alertmanager,
        data,
        cluster_port=opts.port("alertmanager_peer", replica),
        peers=(f"{LOOPBACK}:{opts.port('alertmanager_peer', other)}",),
        name=name,
    )


# The petstore instances the deployer owns: (gRPC, /metrics) port names, in slot order.
INSTANCES = (("petstore", "petstore_metrics"), ("petstore2", "petstore2_metrics"))


def petstore_addrs(opts: StackOptions) -> str:
    """Every instance's gRPC address: where ops and the demo load send calls (round robin)."""
    return ",".join(opts.ports.addr(grpc) for grpc, _ in INSTANCES)


def ops(opts: StackOptions, replica: int = 1) -> Component:
    """Ops; replicas share the queue group, one trace store file and one OTLP port (SO_REUSEPORT)."""
    p = opts.ports
    metrics = f"{LOOPBACK}:{opts.port('ops_metrics', replica)}"
    env = _python_env(
        opts,
        "ops",
        PETSTORE_ADDR=petstore_addrs(opts),
        PROMETHEUS_URL=p.url("prometheus"),
        ALERTMANAGER_URL=p.url("alertmanager"),
        JAEGER_URL="",  # the local trace store
        TRACE_STORE_PATH=str(opts.data_dir / "traces.sqlite3"),
        OTLP_LISTEN=p.addr("otlp"),
        OTLP_REUSE_PORT="true" if opts.cluster > 1 else "false",
        OPS_METRICS_LISTEN=metrics,
        CHATOPS_ADMINS=",".join(opts.admins),
    )
    return Component(
        opts.named("ops", replica),
        (opts.python, "-m", "ops"),
        env,
        Health(url=f"http://{metrics}/healthz"),
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


def notifier(opts: StackOptions, replica: int = 1) -> Component:
    """A notifier; in a cluster each Alertmanager sends every notification to both."""
    listen = f"{LOOPBACK}:{opts.port('notifier', replica)}"
    env = _python_env(opts, "notifier", NOTIFIER_TOKEN=opts.notifier_token, NOTIFIER_LISTEN=listen)
    return Component(
        opts.named("notifier", replica),
        (opts.python, "-m", "notifier"),
        env,
        Health(url=f"http://{listen}/healthz"),
        where=f"http://{listen}/alerts",
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


def gateway(opts: StackOptions, replica: int = 1) -> Component:
    """A gateway; replicas each hold a Socket Mode connection and share the alert delivery consumer."""
    p = opts.ports
    metrics = f"{LOOPBACK}:{opts.port('gateway_metrics', replica)}"
    extra = {
        "GATEWAY_METRICS_LISTEN": metrics,
        "SLACK_HTTP_LISTEN": f"{LOOPBACK}:{opts.port('gateway_http', replica)}",
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
        opts.named("gateway", replica),
        (opts.python, "-m", "gateway"),
        _python_env(opts, "gateway", **extra),
        Health(url=f"http://{metrics}/healthz"),
        where=where,
    )


def plan(opts: StackOptions) -> tuple[Component, ...]:
    """Every component in start order: each one's dependencies come before it.

    In a cluster every chatops component runs twice, but the deployer once: it owns this host's
    petstore instances (their ports and processes), and two would fight over them. It is on every
    node's URL like the rest, so a node's loss moves it; a second host would run its own deployer
    with its own instances.
    """
    parts = [] if opts.nats_url else nats(opts)
    parts += [prometheus(opts), *(alertmanager(opts, r) for r in opts.replicas)]
    if opts.slack is not None:
        # Before ops and the gateway: both are told the offline Slack's user ids as admins.
        parts.append(slackemu(opts, opts.slack))
    parts += [*(ops(opts, r) for r in opts.replicas), deployer(opts)]
    parts += [*(notifier(opts, r) for r in opts.replicas), *(gateway(opts, r) for r in opts.replicas)]
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
    if opts.cluster > 1:
        wanted |= {
            "alertmanager-2": p.alertmanager2,
            "alertmanager gossip": p.alertmanager_peer,
            "alertmanager-2 gossip": p.alertmanager2_peer,
            "ops-2": p.ops2_metrics,
            "notifier-2": p.notifier2,
            "gateway-2 metrics": p.gateway2_metrics,
        }
    if not opts.nats_url:
        own = {"nats": p.nats}
        if opts.cluster > 1:
            own = {f"nats-{n}": p.named()[c] for n, (c, _) in enumerate(NATS_NODES[: opts.cluster], 1)}
            own |= {
                f"nats-{n} routes": p.named()[r] for n, (_, r) in enumerate(NATS_NODES[: opts.cluster], 1)
            }
        wanted = {**own, **wanted}
    if opts.slack is not None:
        wanted["slackemu"] = p.slackemu
    return wanted
