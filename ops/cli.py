"""`chatops ops`: run the Ops service until SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
import asyncio

from chatops import logs
from chatops.health import ListenError
from chatops.lifecycle import serve_until_signal
from chatops.settings import load_settings
from ops.app import running
from ops.settings import OpsSettings

log = logs.get_logger(__name__)


async def serve(settings: OpsSettings) -> None:
    """Run until a signal; a signal during start-up (e.g. NATS not reachable yet) stops at once."""
    await serve_until_signal(running(settings), "ops")


def _epilog() -> str:
    lines = ["environment (default):"]
    for name, info in OpsSettings.model_fields.items():
        default = info.default if info.default is not None else ""
        if isinstance(default, tuple):
            default = ",".join(default)
        lines.append(f"  {name:<28} {default!s}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    """Run the Ops service; configuration comes from the environment (see ops/settings.py)."""
    argparse.ArgumentParser(
        prog="chatops ops",
        description="Run the Ops service: one NATS micro service (chatops-ops) answering every command.",
        epilog=_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    ).parse_args(argv)
    settings = load_settings(OpsSettings)
    logs.setup(settings.LOG_LEVEL, "ops")
    try:
        asyncio.run(serve(settings))
    except ListenError as exc:
        log.error("ops.listen_failed", error=str(exc))
        return 1
    return 0
