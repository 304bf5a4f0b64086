"""`chatops up`: the whole system as supervised local processes (see `chatops up --help`)."""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
from dataclasses import replace
from pathlib import Path

from chatops import logs
from chatops.access.files import LOCAL_ROOT, Node, write_access
from chatops.launcher import configs, plan, spec
from chatops.launcher.ports import LOOPBACK, NATS_NODES, Ports, first_busy, second_replicas
from chatops.launcher.settings import LauncherSettings
from chatops.launcher.stack import Preflight, find_binaries, preflight, run
from chatops.settings import SettingsError, load_settings
from chatops.streams import Limits
from slackemu import webhooks

__all__ = ["main"]

# The committed configs live beside the packages in a source checkout (`pip install -e .`).
SOURCE_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG_DIR = SOURCE_ROOT / "alertmanager"
DEFAULT_RELEASES = SOURCE_ROOT / "releases.yaml"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="chatops up",
        description="Start NATS, Prometheus, Alertmanager, ops, the deployer (which starts two petstore "
        "instances) and the demo load, "
        "the notifier, the offline Slack (when no SLACK_BOT_TOKEN is set) and the gateway; "
        "supervise them until Ctrl-C. Every component connects to the bus as its own identity "
        "(keys in <data dir>/creds). Set NATS_URL to use a NATS that already runs. With --cluster 3: "
        "three NATS nodes and two of each component but the deployer.",
    )
    p.add_argument(
        "--data-dir",
        type=Path,
        default=LOCAL_ROOT,
        help="where stores, rewritten configs, logs and state.json go (default: ./.chatops)",
    )
    p.add_argument("--no-demo-load", action="store_true", help="do not start the petstore demo load")
    p.add_argument(
        "--base-port",
        type=int,
        default=0,
        help="listen on BASE, BASE+1, … instead of the default ports (e.g. beside another stack)",
    )
    p.add_argument(
        "--config-dir",
        type=Path,
        default=DEFAULT_CONFIG_DIR,
        help="folder with prometheus.yml, alertmanager.yml and the rules (default: the repo's)",
    )
    p.add_argument(
        "--releases",
        type=Path,
        default=DEFAULT_RELEASES,
        help="the release manifest the deployer rolls out from (default: the repo's releases.yaml)",
    )
    p.add_argument(
        "--health-timeout",
        type=float,
        default=90.0,
        help="seconds each component gets to become healthy (default: 90)",
    )
    p.add_argument(
        "--cluster",
        type=int,
        choices=(1, 3),
        help="3: three NATS nodes with routes and JetStream clustering (every stream and bucket at 3 "
        "replicas), two of ops, the notifier, the gateway and Alertmanager (an HA pair); 1: one of "
        "each (default: CHATOPS_CLUSTER, or 1)",
    )
    p.add_argument(
        "--tls",
        action="store_true",
        help="make a local CA (in the data dir) and run the bus over TLS, every component with a "
        "client certificate",
    )
    p.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="colour the output prefixes (default: when the output is a terminal)",
    )
    return p


def _options(args: argparse.Namespace, settings: LauncherSettings) -> spec.StackOptions:
    try:
        ports = Ports.from_base(args.base_port) if args.base_port else Ports()
    except ValueError as exc:
        raise Preflight(str(exc)) from None
    data_dir = args.data_dir.resolve()
    token = secrets.token_urlsafe(24)
    if not args.releases.is_file():
        raise Preflight(f"no release manifest at {args.releases} (use --releases to point at one)")
    cluster = args.cluster or settings.CHATOPS_CLUSTER
    limits = _limits(settings, cluster)
    access = None
    if not settings.external_nats:
        # Identities (kept across runs, so a tool's seed file stays valid), the server's config, certs.
        access = write_access(
            data_dir,
            host=LOOPBACK,
            port=ports.nats,
            store_dir=data_dir / "nats",
            server_name="chatops-local",
            use_tls=args.tls,
            cluster=[
                Node(ports.named()[client], ports.named()[route], data_dir / f"nats-{n}")
                for n, (client, route) in enumerate(NATS_NODES[:cluster], start=1)
            ]
            if cluster > 1
            else [],
        )
    elif args.tls:
        raise Preflight("--tls makes the stack's own NATS use TLS: unset NATS_URL, or give it a tls:// URL")
    elif cluster > 1:
        raise Preflight(
            "--cluster starts the stack's own NATS nodes: unset NATS_URL (or leave out --cluster)"
        )
    slack = None
    # Alerts about chatops itself go around it: to the on-call channel's incoming webhook.
    webhook_url = settings.SLACK_ONCALL_WEBHOOK_URL.get_secret_value().strip()
    if not settings.real_slack:
        slack = spec.EmulatedSlack(
            bot_token=f"xoxb-local-{secrets.token_hex(12)}",
            app_token=f"xapp-local-{secrets.token_hex(12)}",
            signing_secret=secrets.token_hex(16),
            webhook_secret=secrets.token_urlsafe(18),
        )
        webhook_url = webhooks.url(ports.url("slackemu"), slack.webhook_secret)
    try:
        files = configs.write_configs(
            args.config_dir,
            data_dir / "config",
            ports.moved(),
            token,
            webhook_url=webhook_url,
            twins=second_replicas() if cluster > 1 else None,
        )
    except configs.ConfigError as exc:
        raise Preflight(f"{exc} (use --config-dir to point at the alertmanager/ folder)") from None
    return spec.StackOptions(
        ports=ports,
        data_dir=data_dir,
        configs=files,
        notifier_token=token,
        releases=args.releases.resolve(),
        nats_url=settings.external_nats,
        demo_load=not args.no_demo_load,
        slack=slack,
        log_level=settings.LOG_LEVEL.upper(),
        source_root=SOURCE_ROOT if (SOURCE_ROOT / "pyproject.toml").is_file() else None,
        binaries=find_binaries(need_nats=not settings.external_nats),
        admins=settings.CHATOPS_ADMINS if settings.real_slack else (),  # offline: its users, once it runs
        access=access,
        limits=limits,
        cluster=cluster,
    )


def _limits(settings: LauncherSettings, cluster: int) -> Limits:
    """The streams' limits; their replicas are the cluster's nodes unless CHATOPS_REPLICAS says fewer."""
    limits = Limits.from_settings(settings)
    asked = "CHATOPS_REPLICAS" in settings.model_fields_set
    if limits.replicas > cluster:
        raise Preflight(
            f"CHATOPS_REPLICAS={limits.replicas} needs that many NATS nodes; the stack runs {cluster}"
            + ("" if cluster > 1 else ": use --cluster 3")
        )
    return limits if asked else replace(limits, replicas=cluster)


def main(argv: list[str]) -> int:
    """Run `chatops up` with `argv`; returns the exit code."""
    from chatops.launcher.output import Output

    args = parser().parse_args(argv)
    if args.health_timeout <= 0:
        parser().error("--health-timeout must be positive")
    try:
        settings = load_settings(LauncherSettings)
    except SettingsError as exc:  # as `chatops up` says it, also for `python -m chatops.launcher`
        print(f"chatops up: {exc}", file=sys.stderr)
        return 2
    logs.setup(settings.LOG_LEVEL, "up")  # for library warnings; the launcher's own lines are printed
    try:
        opts = _options(args, settings)
        preflight(opts, first_busy)
    except Preflight as exc:
        print(f"chatops up: {exc}", file=sys.stderr)
        return 2
    colour = args.color == "always" or (args.color == "auto" and sys.stdout.isatty())
    out = Output(sys.stdout, [c.name for c in plan.plan(opts)], colour)
    return asyncio.run(run(opts, out, health_timeout=args.health_timeout))
