"""The `chatops` command: one entry point, a subcommand per component."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import sys
from collections.abc import Callable, Sequence

from chatops.settings import SettingsError

# subcommand -> (module:function taking argv and returning an exit code, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "up": ("chatops.launcher:main", "run the whole system locally and supervise it"),
    "gateway": ("gateway.cli:main", "run the Slack gateway (commands and alert delivery)"),
    "ops": ("ops.cli:main", "run the Ops service (one NATS micro service, every command)"),
    "notifier": ("notifier.cli:main", "run the Alertmanager webhook receiver"),
    "deployer": ("deployer.cli:main", "run the deploy agent (the petstore instances, canary rollouts)"),
    "petstore": ("petstore.cli:main", "run the demo Petstore, its demo load, or its CLI client"),
    "slackemu": ("slackemu.cli:main", "run the offline Slack emulator and its web page"),
    "ask": ("gateway.console:main", "run one chat command over the bus and print the reply"),
    "history": ("gateway.console:history_main", "show the audit log (who ran what)"),
    "provision": ("chatops.cli:provision_main", "create the streams and buckets, raise their limits"),
    "access": ("chatops.access.cli:main", "write the NATS config, identities and (with --tls) certificates"),
    "roster": (
        "chatops.access.roster:main",
        "write the roster ops reads from an operator's credentials files",
    ),
}


def _resolve(target: str) -> Callable[[list[str]], int]:
    module, func = target.split(":")
    fn: Callable[[list[str]], int] = getattr(importlib.import_module(module), func)
    return fn


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="chatops",
        description="ChatOps over a NATS bus. Each subcommand has its own --help.",
    )
    sub = p.add_subparsers(dest="command", metavar="<command>")
    for name, (_, help_text) in SUBCOMMANDS.items():
        sub.add_parser(name, help=help_text, add_help=False)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    p = parser()
    if not args or args[0] not in SUBCOMMANDS:
        if not args or args[0] in ("-h", "--help"):
            p.print_help()
            return 0 if args else 2
        p.error(f"unknown command {args[0]!r}")
    target, _ = SUBCOMMANDS[args[0]]
    try:
        return _resolve(target)(args[1:])
    except SettingsError as exc:
        print(f"chatops {args[0]}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def provision_main(argv: list[str]) -> int:
    """`chatops provision`: create the streams and buckets, raise their limits, print what changed."""
    from chatops.settings import BusSettings, load_settings
    from chatops.streams import Limits, ProvisionError, provision_when_ready

    p = argparse.ArgumentParser(
        prog="chatops provision",
        description="Create the streams and buckets, and raise their limits and replicas to the settings "
        "(never lowered). Run it as the provisioner identity (NATS_NKEY_SEED_FILE=…/provisioner.nk). "
        "Waits for the bus (a cluster electing its JetStream leader) up to --timeout seconds.",
    )
    p.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for the bus (default: 120)")
    args = p.parse_args(argv)
    settings = load_settings(BusSettings)
    try:
        changes = asyncio.run(
            provision_when_ready(settings, Limits.from_settings(settings), timeout=args.timeout)
        )
    except ProvisionError as exc:
        print(f"chatops provision: {exc}", file=sys.stderr)
        return 1
    print("\n".join(changes) if changes else "nothing to change")
    return 0
