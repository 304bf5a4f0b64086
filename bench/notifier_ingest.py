"""Notifier ingest: webhook requests a second through the notifier against a bare aiohttp handler that
only appends the body to CHATOPS_ALERTS and waits for JetStream's ack, interleaved in one run.

Both run in a process of their own as the notifier identity of the stack `chatops up` runs; each
request is a distinct one-alert notification (so nothing is deduplicated), 16 in flight at once.

    .venv/bin/python -m bench.notifier_ingest [--requests 1500] [--rounds 4] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from bench import arguments
from chatops.bus import connect, jetstream
from chatops.settings import BusSettings, load_settings
from chatops.subjects import ALERTS_STREAM, alert_subject
from tools.harness.alerts import webhook
from tools.harness.ports import free_port
from tools.harness.up import Up, running_up

CLIENTS = 16
_ids = itertools.count()


async def bare(port: int) -> None:
    """The floor: read the body, append it, wait for the ack, answer 200."""
    settings = load_settings(BusSettings)
    nc = await connect(settings, "notifier")
    js = jetstream(nc, settings)
    subject = alert_subject("firing", "warning")

    async def alerts(request: web.Request) -> web.Response:
        await js.publish(subject, await request.read(), stream=ALERTS_STREAM)
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/alerts", alerts)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    print("ready", flush=True)
    await asyncio.Event().wait()


def body() -> bytes:
    n = next(_ids)
    doc = webhook(f"Ingest{n:07d}", [(f"host-{n}", "firing")])
    return json.dumps(doc).encode()


async def rate(http: aiohttp.ClientSession, url: str, token: str, requests: int) -> float:
    """Requests a second for `requests` POSTs, CLIENTS at a time."""
    payloads = [body() for _ in range(requests)]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    left = iter(payloads)
    started = time.perf_counter()

    async def client() -> None:
        for data in left:
            async with http.post(url, data=data, headers=headers) as resp:
                if resp.status != 200:
                    raise RuntimeError(f"{url} answered {resp.status}: {await resp.text()}")

    await asyncio.gather(*(client() for _ in range(CLIENTS)))
    return requests / (time.perf_counter() - started)


async def measure(stack: Up, floor_url: str, requests: int, rounds: int) -> dict[str, Any]:
    ours_url = f"{stack.ports.url('notifier')}/alerts"
    ours: list[float] = []
    floor: list[float] = []
    async with aiohttp.ClientSession() as http:
        await rate(http, ours_url, stack.notifier_token, 200)  # warm up both
        await rate(http, floor_url, "", 200)
        for n in range(rounds):
            pair = [(ours, ours_url, stack.notifier_token), (floor, floor_url, "")]
            for found, url, token in pair if n % 2 == 0 else reversed(pair):
                found.append(await rate(http, url, token, requests))
    return {"ours_rps": statistics.median(ours), "floor_rps": statistics.median(floor), "rounds": rounds}


def run(args: argparse.Namespace) -> int:
    with (
        tempfile.TemporaryDirectory(prefix="ingest-bench-") as tmp,
        running_up(Path(tmp), "--no-demo-load", env={"LOG_LEVEL": "WARNING"}, timeout=120) as stack,
    ):
        port = free_port()
        floor = subprocess.Popen(
            [sys.executable, "-m", "bench.notifier_ingest", "--bare", str(port)],
            env=stack.identity_env("notifier"),
            stdout=subprocess.PIPE,
        )
        try:
            assert floor.stdout is not None
            if floor.stdout.readline().strip() != b"ready":
                raise RuntimeError("the bare handler did not start")
            result = asyncio.run(
                measure(stack, f"http://127.0.0.1:{port}/alerts", args.requests, args.rounds)
            )
        finally:
            floor.terminate()
            floor.wait(10)
    print(
        f"notifier ingest, {CLIENTS} clients, median of {args.rounds} interleaved rounds of {args.requests}: "
        f"{result['ours_rps']:.0f} requests/s through the notifier, {result['floor_rps']:.0f} through a bare "
        f"aiohttp handler with JetStream acks ({result['floor_rps'] / result['ours_rps']:.2f}x)"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0


def main() -> int:
    parser = arguments(__doc__)
    parser.add_argument("--requests", type=int, default=1500)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--json", help="also write the result to this file")
    parser.add_argument("--bare", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare:
        asyncio.run(bare(args.bare))
        return 0
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
