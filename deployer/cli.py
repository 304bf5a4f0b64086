"""`chatops deployer`: run the deploy agent until SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
import asyncio

from chatops import logs
from chatops.health import ListenError
from chatops.lifecycle import serve_until_signal
from chatops.settings import load_settings
from deployer.app import running
from deployer.manifest import ManifestError
from deployer.settings import DeployerSettings

log = logs.get_logger(__name__)


async def serve(settings: DeployerSettings) -> None:
    """Run until a signal; a signal during start-up (e.g. NATS not reachable yet) stops at once."""
    await serve_until_signal(running(settings), "deployer")


def main(argv: list[str]) -> int:
    """Run the deployer; configuration comes from the environment (see deployer/settings.py)."""
    argparse.ArgumentParser(
        prog="chatops deployer",
        description="Run the deploy agent: it owns the service's instances on this host, rolls versions "
        "out canary-first and answers chatops.cmd.deploys.* (micro service chatops-deployer).",
    ).parse_args(argv)
    settings = load_settings(DeployerSettings)
    logs.setup(settings.LOG_LEVEL, "deployer")
    try:
        asyncio.run(serve(settings))
    except (ListenError, ManifestError) as exc:
        log.error("deployer.start_failed", error=str(exc))
        return 1
    return 0
