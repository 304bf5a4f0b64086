"""Memory under sustained load: every component's RSS at idle, after 50,000 commands and 5,000 alert
notifications, and after a second load of the same size, in the stack `chatops up` runs (identities on).

Commands go as the gateway would send them, 32 at a time: sampling.get and version.get in turn, and
one in 25 a traces.list or an audit.list (they read stores, and people ask them less);
notifications go to the notifier's webhook as Alertmanager sends them (500 groups, ten notifications
each: a post, then updates and thread replies, the last one resolving the group), and are waited
for until the gateway has shown them all. Each load has groups of its own, so the second does the
same work as the first (the same notifications again would change no card); the groups resolve so
that what stays open after a load is what stays open in a steady stream of alerts that come and go
(an open card costs the gateway about 5 kB for as long as it is open). For this run Slack's pace is
lifted (the emulator's, and the gateway's for posts and for every other method's tier), or 5,000
notifications in one channel would take hours.

Idle is read after a warm-up (a few commands and notifications), so what only a first use loads (a
gRPC channel, a connection pool) is not counted as growth; the cold figure after start-up is printed
too. Each later reading comes `SETTLE` seconds after its load. Growth is RSS after a load minus RSS
at idle, and a component of ours fails the run when it has grown by more than 10 MB after any load:
memory that fills up once (caches reaching their size, the allocator's arenas reaching what the
load needs) shows in the first load and not in the second; memory that grows with the work done
shows in both.

    .venv/bin/python -m bench.memory [--commands 50000] [--notifications 5000] [--loads 2] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from bench import arguments
from chatops import codec
from chatops.bus import Caller, raise_for_error
from chatops.contract import command
from chatops.v1 import audit_pb2, sampling_pb2, traces_pb2, version_pb2
from gateway.metrics import PENDING
from tools.harness.alerts import webhook
from tools.harness.up import Up, rss_mb, running_up

SETTLE = 10.0  # seconds between the end of the load and the second reading
LIMIT_GROWTH_MB = 10.0
# The limit is for the project's own components. nats-server keeps JetStream's recent messages in
# memory, Prometheus and Alertmanager are theirs, and the offline Slack keeps every message and
# request it was sent (it is what tests read back): their growth is shown, not limited.
OURS = ("ops", "gateway", "notifier", "deployer", "petstore")


def limited(name: str) -> bool:
    return name.split("-")[0] in OURS


COMMANDS = (
    *[("sampling.get", sampling_pb2.GetSamplingRequest()), ("version.get", version_pb2.GetVersionRequest())]
    * 12,
    ("traces.list", traces_pb2.ListTracesRequest(limit=5)),
    ("audit.list", audit_pb2.ListAuditRequest(limit=5)),
)


def readings(stack: Up) -> dict[str, float]:
    return {name: rss_mb(pid) for name, pid in sorted(stack.pids().items())}


async def commands(stack: Up, total: int, clients: int = 32) -> float:
    """Send `total` commands; returns the seconds it took."""
    nc = await stack.connect("gateway")
    bodies = [(command(name).subject, codec.encode(req)) for name, req in COMMANDS]
    left = total
    started = time.monotonic()

    async def client(n: int) -> None:
        nonlocal left
        while left > 0:
            left -= 1
            subject, body = bodies[left % len(bodies)]
            caller = Caller(f"slack:U{n:08d}", f"user{n}", "C0MEMORY", "slack")
            msg = await nc.request(subject, body, timeout=30, headers=caller.headers())
            raise_for_error(msg.headers)

    await asyncio.gather(*(client(n) for n in range(clients)))
    await nc.close()
    return time.monotonic() - started


def note(group: int, round_: int, last: int) -> dict[str, Any]:
    """A group's notification: its first (firing), later ones (one alert more resolved each time),
    and at round `last` every alert resolved."""
    alerts = [(f"host-{i}", "resolved" if i < round_ or round_ == last else "firing") for i in range(10)]
    body = webhook(f"MemoryAlert{group:03d}", alerts)
    for alert in body["alerts"]:
        alert.pop("generatorURL", None)  # no graph per alert: this measures delivery, not drawing
    return body


async def notifications(stack: Up, total: int, groups: int = 500, first: int = 0) -> float:
    """POST `total` notifications to the notifier and wait until the gateway has shown each."""
    url = f"{stack.ports.url('notifier')}/alerts"
    headers = {"Authorization": f"Bearer {stack.notifier_token}"}
    started = time.monotonic()
    per_group = max(1, total // groups)
    sem = asyncio.Semaphore(16)
    async with aiohttp.ClientSession() as http:

        async def send(group: int, round_: int) -> None:
            async with (
                sem,
                http.post(url, json=note(first + group, round_, per_group - 1), headers=headers) as resp,
            ):
                if resp.status != 200:
                    raise RuntimeError(f"notifier answered {resp.status}: {await resp.text()}")

        for round_ in range(per_group):
            await asyncio.gather(*(send(g, round_) for g in range(groups)))
        sent = time.monotonic()
        deadline = sent + 1800
        metrics = stack.ports.url("gateway_metrics", "/metrics")
        while True:  # the delivery consumer has nothing left to hand over or to work on
            async with http.get(metrics) as resp:
                text = await resp.text()
            backlog = [ln for ln in text.splitlines() if ln.startswith(f"{PENDING} ")]
            # The gauge is read every 5 s: one reading after the last notification went, and zero.
            if time.monotonic() - sent > 6 and backlog and float(backlog[0].rsplit(" ", 1)[1]) == 0:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"alerts not delivered within 30 minutes: {backlog}")
            await asyncio.sleep(1.0)
    return time.monotonic() - started


def report(
    idle: dict[str, float], loads: list[dict[str, float]], args: argparse.Namespace, took: list[str]
) -> str:
    lines = [
        f"memory: RSS in MB at idle and after each of {len(loads)} loads of {args.commands} commands and "
        f"{args.notifications} notifications, {SETTLE:g} s after each"
    ]
    lines += [f"  load {i}: {t}" for i, t in enumerate(took, 1)]
    after = "".join(f" {f'load {i}':>8}" for i in range(1, len(loads) + 1))
    grown = "".join(f" {f'+{i}':>8}" for i in range(1, len(loads) + 1))
    lines.append(f"{'component':<14} {'idle':>8}{after}{grown}  (+N: RSS after load N minus idle)")
    for name in idle:
        rss = [load.get(name, 0.0) for load in loads]
        growth = [mb - idle[name] for mb in rss]
        flag = (
            "  (no limit: not ours)"
            if not limited(name)
            else ""
            if max(growth) <= LIMIT_GROWTH_MB
            else "  over 10 MB"
        )
        lines.append(
            f"{name:<14} {idle[name]:8.1f}"
            + "".join(f" {mb:8.1f}" for mb in rss)
            + "".join(f" {g:+8.1f}" for g in growth)
            + flag
        )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    env = {
        "SLACKEMU_RATE_PER_SEC": "0",  # no 429s: this measures memory, not pacing
        "SLACK_POST_RATE": "10000",
        "SLACK_POST_BURST": "10000",
        "SLACK_TIER_SCALE": "10000",  # chat.update: 50 a minute at tier 3, 4,500 in 90 minutes
    }
    groups = 500
    loads: list[dict[str, float]] = []
    took: list[str] = []
    with (
        tempfile.TemporaryDirectory(prefix="memory-bench-") as tmp,
        running_up(Path(tmp), "--no-demo-load", env={"LOG_LEVEL": "WARNING", **env}, timeout=120) as stack,
    ):
        time.sleep(SETTLE)  # start-up work (provisioning, first scrapes) is over
        cold = readings(stack)
        asyncio.run(commands(stack, 200))
        asyncio.run(notifications(stack, 20, groups=10, first=(args.loads + 1) * groups))
        time.sleep(SETTLE)
        idle = readings(stack)
        for load in range(args.loads):
            sent = asyncio.run(commands(stack, args.commands))
            shown = asyncio.run(notifications(stack, args.notifications, groups=groups, first=load * groups))
            time.sleep(SETTLE)
            loads.append(readings(stack))
            took.append(f"commands in {sent:.0f} s, notifications shown in {shown:.0f} s")
    print(report(idle, loads, args, took))
    print("cold (right after start-up): " + ", ".join(f"{n} {mb:.0f}" for n, mb in cold.items()))
    if args.json:
        rows = [
            {
                "component": n,
                "limited": limited(n),
                "cold_mb": cold.get(n, 0.0),
                "idle_mb": idle[n],
                "after_mb": [load.get(n, 0.0) for load in loads],
            }
            for n in idle
        ]
        Path(args.json).write_text(json.dumps(rows, indent=2))
    ours = [n for n in idle if limited(n)]
    return 0 if all(load.get(n, 0.0) - idle[n] <= LIMIT_GROWTH_MB for n in ours for load in loads) else 1


def main() -> int:
    parser = arguments(__doc__)
    parser.add_argument("--commands", type=int, default=50_000)
    parser.add_argument("--notifications", type=int, default=5_000)
    parser.add_argument("--loads", type=int, default=2, help="loads of that size, one after another")
    parser.add_argument("--json", help="also write the rows to this file")
    return run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
