"""The production shape's throughput and latency, in one run: commands/s with one and with two ops
replicas, alert posts/s with one and with two gateways (and notifiers), and p50/p99 command latency
on the 3-node cluster (every stream at R3) against a single NATS node.

The shape is `tools.harness.scaled` (three nodes, identities on, two of each component, the offline
Slack without its rate limit, so Slack's pace is not what is measured). The command is `show
sampling` sent as the gateway sends it (sampling.get: ops asks a petstore over gRPC and appends the
call's audit event to CHATOPS_AUDIT, a replicated write on the cluster). For the "one" figures the
second replica is stopped, then started again; rounds of one and of two alternate. Alert posts:
notifications for new groups POSTed to the notifiers (round robin) all at once; posts/s is groups
over the time from the first POST to the last post. The single node runs beside the cluster with
one ops, and the two are measured in alternating chunks, so load from elsewhere on the machine
lands on both alike.

    .venv/bin/python -m bench.cluster [--seconds 8] [--clients 16] [--groups 60] [--rounds 2]
                                      [--latency 300] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from nats.aio.client import Client

from bench import arguments
from chatops.bus import Caller, CommandError, call
from chatops.contract import command
from chatops.v1 import sampling_pb2
from slackemu.client import EmulatorControl
from tools.harness import components
from tools.harness.alerts import flat, top_level, webhook
from tools.harness.components import NOTIFIER_TOKEN, Service
from tools.harness.petstore import Petstore
from tools.harness.scaled import Scaled, start
from tools.harness.servers import NatsServer

SAMPLING = command("sampling.get")
CALLER = Caller(actor="slack:UBENCH0001", actor_name="bench", channel="CBENCH", source="slack")


def med(samples: list[float]) -> float:
    return statistics.median(samples)


def shown(samples: list[float]) -> str:
    return "/".join(f"{x:.0f}" for x in samples)


def pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def one_command(nc: Client) -> bool:
    """One `show sampling`; False when ops answered with an error or not at all."""
    try:
        await call(nc, SAMPLING, sampling_pb2.GetSamplingRequest(), CALLER, timeout=10)
    except CommandError:
        return False
    return True


async def throughput(nc: Client, seconds: float, clients: int) -> tuple[float, int]:
    """Commands answered per second by `clients` sending one after another for `seconds`; and failures."""
    done, failed = 0, 0
    deadline = time.monotonic() + seconds

    async def client() -> None:
        nonlocal done, failed
        while time.monotonic() < deadline:
            if await one_command(nc):
                done += 1
            else:
                failed += 1

    started = time.monotonic()
    await asyncio.gather(*(client() for _ in range(clients)))
    return done / (time.monotonic() - started), failed


async def latencies(nc: Client, n: int) -> list[float]:
    """`n` commands one after another, each one's seconds."""
    out = []
    for _ in range(n):
        started = time.perf_counter()
        if await one_command(nc):
            out.append(time.perf_counter() - started)
    return out


async def alert_posts(shape: Scaled, notifiers: list[Service], groups: int, tag: str) -> float:
    """Notifications for `groups` new groups sent at once; posts/s until every group is in #oncall."""
    names = [f"Bench{tag}G{g:03d}" for g in range(groups)]
    headers = {"Authorization": f"Bearer {NOTIFIER_TOKEN}"}
    async with shape.slack.control() as control, aiohttp.ClientSession() as http:
        started = time.time()

        async def send(n: int, name: str) -> None:
            url = f"{notifiers[n % len(notifiers)].url}/alerts"
            body = webhook(name, [("host-1", "firing")])
            async with http.post(url, json=body, headers=headers) as resp:
                if resp.status != 200:
                    raise RuntimeError(f"{url} answered {resp.status}")

        await asyncio.gather(*(send(n, name) for n, name in enumerate(names)))
        last = await _all_posted(control, shape.oncall, names, timeout=60 + groups)
    return groups / (last - started)


async def _all_posted(control: EmulatorControl, channel: str, names: list[str], timeout: float) -> float:
    """When the last of `names` was posted (the offline Slack's clock: the same machine's)."""
    deadline = time.monotonic() + timeout
    while True:
        tops = top_level(await control.messages(channel))
        posted = {n: [float(t["ts"]) for t in tops if n in flat(t)] for n in names}
        if all(posted.values()):
            return max(min(ts) for ts in posted.values())
        if time.monotonic() > deadline:
            missing = [n for n, ts in posted.items() if not ts]
            raise RuntimeError(f"{len(missing)} groups never posted, e.g. {missing[:3]}")
        await asyncio.sleep(0.2)


async def measure(shape: Scaled, single: NatsServer, args: argparse.Namespace) -> dict[str, Any]:
    on_cluster = await shape.cluster.connect("gateway")
    on_single = await single.connect("gateway")
    try:
        for nc in (on_cluster, on_single):  # warm up: consumers made, connections settled
            await latencies(nc, 20)
        result: dict[str, Any] = {"commands_per_s": {"1": [], "2": []}, "failed": 0}
        result["alert_posts_per_s"] = {"1": [], "2": []}
        # Rounds alternate one and two replicas: a burst of load from elsewhere hits both alike.
        for n in range(args.rounds):
            for replicas in ("2", "1"):
                if replicas == "1":
                    await asyncio.to_thread(shape.ops[1].stop)
                rate, failed = await throughput(on_cluster, args.seconds, args.clients)
                result["commands_per_s"][replicas].append(rate)
                result["failed"] += failed
                if replicas == "1":
                    await start(shape.ops[1].proc)
            for replicas in ("2", "1"):
                second = (shape.gateways[1].proc, shape.notifiers[1].proc)
                if replicas == "1":
                    for proc in second:
                        await asyncio.to_thread(proc.stop)
                notifiers = shape.notifiers[: int(replicas)]
                rate = await alert_posts(shape, notifiers, args.groups, f"{n}x{replicas}")
                result["alert_posts_per_s"][replicas].append(rate)
                if replicas == "1":
                    for proc in second:
                        await start(proc)
                    await asyncio.to_thread(shape.wait_sockets, 2)

        cluster_ms: list[float] = []
        single_ms: list[float] = []
        chunk = max(1, args.latency // 4)
        for _ in range(4):
            cluster_ms += [s * 1000 for s in await latencies(on_cluster, chunk)]
            single_ms += [s * 1000 for s in await latencies(on_single, chunk)]
        result["latency_ms"] = {
            "cluster": [pct(cluster_ms, 50), pct(cluster_ms, 99)],
            "single": [pct(single_ms, 50), pct(single_ms, 99)],
        }
        return result
    finally:
        await on_cluster.close()
        await on_single.close()


def run(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as tmp:
        root = Path(tmp)
        petstore = Petstore(root / "petstore", sampler="never")
        shape = Scaled(root / "cluster", ops_env={"PETSTORE_ADDR": petstore.addr})
        single = NatsServer(root / "single", identities=True)
        ops = components.ops(root / "single-ops", single, name="ops-single", PETSTORE_ADDR=petstore.addr)
        try:
            petstore.start()
            shape.start()
            single.start()
            ops.start()
            result = asyncio.run(measure(shape, single, args))
        finally:
            ops.stop()
            single.stop()
            shape.stop()
            petstore.stop()
    c, p, lat = result["commands_per_s"], result["alert_posts_per_s"], result["latency_ms"]
    print(
        f"commands/s, {args.clients} clients sending `show sampling`: 1 ops {med(c['1']):.0f}, "
        f"2 ops {med(c['2']):.0f} (medians of {shown(c['1'])} and {shown(c['2'])})"
    )
    print(
        f"alert posts/s, {args.groups} new groups at once: 1 gateway and notifier {med(p['1']):.1f}, "
        f"2 of each {med(p['2']):.1f} (medians of {shown(p['1'])} and {shown(p['2'])})"
    )
    print(
        f"command latency, one client: cluster (R3) p50 {lat['cluster'][0]:.1f} ms p99 "
        f"{lat['cluster'][1]:.1f} ms; single node p50 {lat['single'][0]:.1f} ms p99 {lat['single'][1]:.1f} ms"
    )
    if result["failed"]:
        print(f"commands that failed: {result['failed']}")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0


def main() -> int:
    parser = arguments(__doc__)
    parser.add_argument("--seconds", type=float, default=8.0, help="each throughput measurement")
    parser.add_argument("--clients", type=int, default=16, help="commands sent at once")
    parser.add_argument("--groups", type=int, default=60, help="alert groups per posts/s measurement")
    parser.add_argument("--rounds", type=int, default=2, help="of each throughput measurement")
    parser.add_argument("--latency", type=int, default=300, help="commands per latency measurement")
    parser.add_argument("--json", help="also write the result to this file")
    return run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
