"""`chatops petstore serve|demo|add|search|update|delete|sampler`."""

from __future__ import annotations

import argparse
import asyncio
import sys

from tabulate import tabulate

from chatops import logs
from chatops.lifecycle import stop_on_signals
from chatops.settings import load_settings
from petstore import commands
from petstore.settings import PetstoreSettings


def _serve(args: argparse.Namespace, settings: PetstoreSettings) -> int:
    from petstore.server import serve

    return asyncio.run(serve(settings))


def _demo(args: argparse.Namespace, settings: PetstoreSettings) -> int:
    from petstore.client import PetstoreClient
    from petstore.demo import DemoConfig, run_demo

    try:
        config = DemoConfig(args.rate, args.duration or None, args.seed)
    except ValueError as exc:
        print(f"chatops petstore demo: {exc}", file=sys.stderr)
        return 2
    addr = args.addr or settings.PETSTORE_ADDR

    async def main() -> None:
        stop = stop_on_signals()
        async with PetstoreClient(addr, trace=args.trace, timeout=args.timeout) as client:
            outcomes = await run_demo(client, config, stop)
        rows = sorted(outcomes.items())
        print(tabulate(rows, headers=["call and outcome", "count"]))

    print(f"demo load on {addr}: {config.rate:g} ticks/s, Ctrl-C to stop", file=sys.stderr)
    asyncio.run(main())
    return 0


def _client(args: argparse.Namespace, settings: PetstoreSettings) -> int:
    addr = args.addr or settings.PETSTORE_ADDR
    try:
        return asyncio.run(commands.run(args, addr))
    except commands.CommandFailed as exc:
        print(f"chatops petstore {args.command}: {exc}", file=sys.stderr)
        return 1


def parser() -> argparse.ArgumentParser:
    """The `chatops petstore` argument parser."""
    client = argparse.ArgumentParser(add_help=False)
    client.add_argument("--addr", help="petstore host:port (default PETSTORE_ADDR, 127.0.0.1:6742)")
    client.add_argument("--trace", action="store_true", help="ask the petstore to trace these calls")
    client.add_argument("--timeout", type=float, default=10.0, help="seconds per call (default 10)")

    p = argparse.ArgumentParser(
        prog="chatops petstore", description="The demo Petstore: run it, load it, or talk to it."
    )
    sub = p.add_subparsers(dest="command", metavar="<command>", required=True)
    s = sub.add_parser("serve", help="run the gRPC server and its /metrics and /healthz endpoint")
    s.set_defaults(run=_serve)
    d = sub.add_parser("demo", parents=[client], help="send demo load: adds, searches, some errors")
    d.add_argument("--rate", type=float, default=2.0, help="ticks per second (default 2)")
    d.add_argument("--duration", type=float, default=0, help="seconds to run (default: until Ctrl-C)")
    d.add_argument("--seed", type=int, help="random seed, for a repeatable run")
    d.set_defaults(run=_demo)

    def client_command(name: str, help_text: str) -> argparse.ArgumentParser:
        made = sub.add_parser(name, parents=[client], help=help_text)
        made.set_defaults(run=_client)
        return made

    commands.add_arguments(client_command)
    return p


def main(argv: list[str]) -> int:
    """Entry point for `chatops petstore`."""
    args = parser().parse_args(argv)
    settings = load_settings(PetstoreSettings)
    logs.setup(settings.LOG_LEVEL, "petstore")
    code: int = args.run(args, settings)
    return code
