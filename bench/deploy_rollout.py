"""How long deploys take with the demo's settings, and how fast a bad canary is caught.

A real nats-server, a real Prometheus (scraping every second) and the deployer with its default
settling window (30 s), check interval, minimum calls and lock TTL, owning two petstore instances
under the demo load's rate. It deploys the healthy 0.2.0, then the demo regression 0.3.0, then kills
the deployer with SIGKILL while it watches a canary and times how long the restarted one takes to
finish from the events. Figures are printed, nothing is asserted.

    .venv/bin/python bench/deploy_rollout.py [--settle 30] [--rate 4]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from chatops.v1 import deploys_pb2 as pb  # noqa: E402
from tools.harness.deploys import Deployer, Load, Slots, Steps, start  # noqa: E402
from tools.harness.servers import NatsServer, Prometheus  # noqa: E402


def seconds(a: pb.DeployEvent, b: pb.DeployEvent) -> float:
    return (b.time.ToNanoseconds() - a.time.ToNanoseconds()) / 1e9


async def one(steps: Steps, deploy: pb.DeployEvent, ending: str) -> dict[str, pb.DeployEvent]:
    await steps.until(deploy.deploy_id, ending, timeout=600)
    return {str(e.step): e for e in steps.events if e.deploy_id == deploy.deploy_id}


async def bench(root: Path, settle: float, rate: float) -> None:
    slots = Slots.free(2)
    nats = NatsServer(root / "nats", identities=True).start()
    prom = Prometheus(root / "prom", scrape_targets={"petstore": slots.targets}).start()
    deployer = Deployer(
        root / "deployer",
        nats,
        prom.url,
        slots,
        CHATOPS_ADMINS="slack:UADMIN",
        DEPLOY_SETTLE_SECONDS=str(settle),
        DEPLOY_CHECK_INTERVAL="2",
        DEPLOY_MIN_CALLS="20",
        DEPLOY_LOCK_TTL="15",
    )
    started = time.monotonic()
    deployer.start()
    print(f"deployer healthy (two instances at 0.1.0) {time.monotonic() - started:.1f}s after start")
    nc = await nats.connect("gateway")  # asks as slack:UADMIN, as the gateway does
    tool = await nats.connect("tools")  # sees the deploy events live, as any read-only tool does
    steps = await Steps().watch(tool)
    rows: list[tuple[str, str]] = []
    try:
        async with Load(slots.addresses, rate=rate):
            await asyncio.sleep(5)  # the load reaches both instances before the first deploy
            good = await one(steps, await start(nc, "0.2.0"), "promoted")
            req, healthy, done = (
                good[str(pb.DEPLOY_STEP_REQUESTED)],
                good[str(pb.DEPLOY_STEP_CANARY_HEALTHY)],
                good[str(pb.DEPLOY_STEP_PROMOTED)],
            )
            rows += [
                ("0.2.0: requested -> canary healthy", f"{seconds(req, healthy):.1f}s"),
                ("0.2.0: requested -> promoted", f"{seconds(req, done):.1f}s"),
                ("0.2.0: canary calls judged, error ratio", f"{done.canary_calls}, {done.error_ratio:.1%}"),
            ]
            bad = await one(steps, await start(nc, "0.3.0"), "rolled_back")
            req, healthy, back = (
                bad[str(pb.DEPLOY_STEP_REQUESTED)],
                bad[str(pb.DEPLOY_STEP_CANARY_HEALTHY)],
                bad[str(pb.DEPLOY_STEP_ROLLED_BACK)],
            )
            rows += [
                (
                    "0.3.0: canary healthy -> rolled back",
                    f"{seconds(healthy, back):.1f}s (window {settle:g}s)",
                ),
                ("0.3.0: requested -> rolled back (fleet on 0.2.0)", f"{seconds(req, back):.1f}s"),
                (
                    "0.3.0: error ratio that tripped it",
                    f"{back.error_ratio:.1%} of {back.canary_calls} calls",
                ),
            ]
            deploy = await start(nc, "0.1.0")
            await steps.until(deploy.deploy_id, "canary_healthy")
            deployer.kill()
            killed = time.monotonic()
            deployer.start()
            back_up = time.monotonic() - killed
            await steps.until(deploy.deploy_id, "promoted", timeout=600)
            rows += [
                ("SIGKILL while watching: restart -> healthy", f"{back_up:.1f}s (lock TTL 15s)"),
                ("SIGKILL while watching: kill -> promoted", f"{time.monotonic() - killed:.1f}s"),
            ]
    finally:
        await tool.close()
        await nc.close()
        deployer.stop()
        prom.stop()
        nats.stop()
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--settle", type=float, default=30.0, help="DEPLOY_SETTLE_SECONDS (default 30, the demo's)"
    )
    p.add_argument("--rate", type=float, default=4.0, help="demo load ticks per second (default 4)")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(bench(Path(tmp), args.settle, args.rate))


if __name__ == "__main__":
    main()
