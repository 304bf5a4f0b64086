"""What ops adds to a command: latency through ops against its floor, a bare nats-py echo plus the same
backend call made directly, measured interleaved in one run, with one client and with 32 at once.

The stack is the one `chatops up` runs, identities on: the requests go as the gateway (a Slack user's
Chatops-* headers and a sampled traceparent, as the gateway sends them), through the service import
that stamps Nats-Request-Info. The echo runs in a process of its own as the ops identity, in ops'
queue group, on a subject beside the commands, so it crosses the same import. The direct calls are
GetSampler over gRPC to the petstore (for sampling.get) and the Prometheus instant query version.get
runs (for version.get), with the same traceparent. Each round runs every kind in a new random order,
in chunks, so a burst of load from elsewhere on the machine lands on floor and ours alike.

    .venv/bin/python -m bench.ops_overhead [--rounds 8] [--chunk 150] [--clients 1 32] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import grpc
from nats.aio.client import Client
from nats.aio.msg import Msg

from bench import arguments
from chatops import codec
from chatops.bus import Caller, connect, raise_for_error
from chatops.contract import command
from chatops.settings import BusSettings
from chatops.v1 import sampling_pb2, version_pb2
from ops.handlers.version import promql
from petstore.v1 import petstore_pb2, petstore_pb2_grpc
from tools.harness.up import Up, running_up

ECHO_SUBJECT = "chatops.cmd.version.bench-echo"  # inside ops' export, so it crosses the same import
KINDS = ("echo", "grpc", "prometheus", "sampling.get", "version.get")
FLOORS = {"sampling.get": "grpc", "version.get": "prometheus"}


def pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def traceparent() -> str:
    return f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"


async def echo_server(settings: BusSettings) -> None:
    """The bare responder: one nats-py subscription that sends the request back."""
    nc = await connect(settings, "ops")

    async def reply(msg: Msg) -> None:
        await msg.respond(msg.data)

    await nc.subscribe(ECHO_SUBJECT, queue="ops", cb=reply)
    await nc.flush()
    print("ready", flush=True)
    await asyncio.Event().wait()


@dataclass
class Calls:
    """One callable per kind, all made from this process."""

    nc: Client
    stub: petstore_pb2_grpc.PetStoreStub
    http: aiohttp.ClientSession
    prom_url: str
    query: str = field(default_factory=lambda: promql("petstore"))

    def caller(self) -> dict[str, str]:
        return Caller("slack:U00000001", "alice", "C0BENCH", "slack", traceparent=traceparent()).headers()

    async def via_ops(self, name: str, body: bytes) -> None:
        msg = await self.nc.request(command(name).subject, body, timeout=30, headers=self.caller())
        raise_for_error(msg.headers)

    async def echo(self) -> None:
        await self.nc.request(ECHO_SUBJECT, SAMPLING_BODY, timeout=30, headers=self.caller())

    async def grpc(self) -> None:
        metadata = (("traceparent", traceparent()),)
        await self.stub.GetSampler(petstore_pb2.GetSamplerRequest(), timeout=30, metadata=metadata)

    async def prometheus(self) -> None:
        headers = {"Accept": "application/json", "traceparent": traceparent()}
        params = {"query": self.query}
        async with self.http.get(f"{self.prom_url}/api/v1/query", params=params, headers=headers) as resp:
            body = await resp.json()
            if body.get("status") != "success":
                raise RuntimeError(f"Prometheus answered {body}")

    def of(self, kind: str) -> Callable[[], Awaitable[None]]:
        return {
            "echo": self.echo,
            "grpc": self.grpc,
            "prometheus": self.prometheus,
            "sampling.get": lambda: self.via_ops("sampling.get", SAMPLING_BODY),
            "version.get": lambda: self.via_ops("version.get", VERSION_BODY),
        }[kind]


SAMPLING_BODY = codec.encode(sampling_pb2.GetSamplingRequest())
VERSION_BODY = codec.encode(version_pb2.GetVersionRequest())


async def chunk(call: Callable[[], Awaitable[None]], clients: int, n: int) -> list[float]:
    """`n` calls by `clients` concurrent callers; milliseconds each."""
    out: list[float] = []
    left = n

    async def worker() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            t0 = time.perf_counter()
            await call()
            out.append((time.perf_counter() - t0) * 1000)

    await asyncio.gather(*(worker() for _ in range(clients)))
    return out


@dataclass(frozen=True)
class Row:
    """One command at one concurrency: p50/p99 through ops, of its floor, and the ratios."""

    command: str
    clients: int
    ops: tuple[float, float]
    echo: tuple[float, float]
    direct: tuple[float, float]
    round_ratios: tuple[float, ...]  # p50 ratio of each round alone, for the spread

    @property
    def ratio(self) -> tuple[float, float]:
        return (
            self.ops[0] / (self.echo[0] + self.direct[0]),
            self.ops[1] / (self.echo[1] + self.direct[1]),
        )


def summarize(name: str, clients: int, rounds: list[dict[str, list[float]]]) -> Row:
    def pooled(kind: str) -> list[float]:
        return [ms for r in rounds for ms in r[kind]]

    def p50_99(kind: str) -> tuple[float, float]:
        ms = pooled(kind)
        return pct(ms, 50), pct(ms, 99)

    floor = FLOORS[name]
    per_round = tuple(
        statistics.median(r[name]) / (statistics.median(r["echo"]) + statistics.median(r[floor]))
        for r in rounds
    )
    return Row(name, clients, p50_99(name), p50_99("echo"), p50_99(floor), per_round)


async def measure(stack: Up, clients: tuple[int, ...], rounds: int, per_chunk: int) -> list[Row]:
    nc = await stack.connect("gateway")
    channel = grpc.aio.insecure_channel(stack.petstore_addrs()[0])
    rows: list[Row] = []
    async with aiohttp.ClientSession() as http:
        calls = Calls(nc, petstore_pb2_grpc.PetStoreStub(channel), http, stack.ports.url("prometheus"))  # type: ignore[no-untyped-call]
        deadline = time.monotonic() + 60
        while True:  # Prometheus scrapes the petstore every 5 s: wait until it knows a version
            async with http.get(f"{calls.prom_url}/api/v1/query", params={"query": calls.query}) as resp:
                if (await resp.json()).get("data", {}).get("result"):
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("Prometheus never saw petstore_build_info")
            await asyncio.sleep(0.5)
        for kind in KINDS:  # warm every connection and cache
            await chunk(calls.of(kind), 4, 100)
        for n in clients:
            results: list[dict[str, list[float]]] = []
            for _ in range(rounds):
                order = random.sample(KINDS, len(KINDS))
                results.append(
                    {kind: await chunk(calls.of(kind), n, per_chunk * max(1, n // 8)) for kind in order}
                )
            rows += [summarize(name, n, results) for name in FLOORS]
    await channel.close(None)
    await nc.close()
    return rows


def report(rows: list[Row], rounds: int) -> str:
    lines = [f"ops overhead: {rounds} interleaved rounds; ms; floor = bare echo + direct backend call"]
    head = f"{'command':<13} {'clients':>7}  {'ops p50':>8} {'ops p99':>8}  {'echo p50':>8} {'echo p99':>8}"
    head += f"  {'direct p50':>10} {'direct p99':>10}  {'x p50':>6} {'x p99':>6}  rounds' x p50"
    lines.append(head)
    for r in rows:
        spread = f"{min(r.round_ratios):.2f}..{max(r.round_ratios):.2f}"
        lines.append(
            f"{r.command:<13} {r.clients:>7}  {r.ops[0]:8.3f} {r.ops[1]:8.3f}"
            f"  {r.echo[0]:8.3f} {r.echo[1]:8.3f}"
            f"  {r.direct[0]:10.3f} {r.direct[1]:10.3f}  {r.ratio[0]:6.2f} {r.ratio[1]:6.2f}  {spread}"
        )
    return "\n".join(lines)


def to_json(rows: list[Row]) -> list[dict[str, object]]:
    return [
        {
            "command": r.command,
            "clients": r.clients,
            "ops_ms": r.ops,
            "floor_ms": (r.echo[0] + r.direct[0], r.echo[1] + r.direct[1]),
            "ratio": r.ratio,
        }
        for r in rows
    ]


def run(args: argparse.Namespace) -> int:
    with (
        tempfile.TemporaryDirectory(prefix="ops-bench-") as tmp,
        running_up(Path(tmp), "--no-demo-load", env={"LOG_LEVEL": "WARNING"}, timeout=120) as stack,
    ):
        echo = subprocess.Popen(
            [sys.executable, "-m", "bench.ops_overhead", "--echo"],
            env=stack.identity_env("ops"),
            stdout=subprocess.PIPE,
        )
        try:
            assert echo.stdout is not None
            if echo.stdout.readline().strip() != b"ready":
                raise RuntimeError("the echo responder did not start")
            rows = asyncio.run(measure(stack, tuple(args.clients), args.rounds, args.chunk))
        finally:
            echo.terminate()
            echo.wait(10)
    print(report(rows, args.rounds))
    if args.json:
        Path(args.json).write_text(json.dumps(to_json(rows), indent=2))
    return 0


def main() -> int:
    parser = arguments(__doc__)
    parser.add_argument("--rounds", type=int, default=8, help="interleaved rounds (default 8)")
    parser.add_argument("--chunk", type=int, default=150, help="requests per kind per round and 8 clients")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 32])
    parser.add_argument("--json", help="also write the rows to this file")
    parser.add_argument("--echo", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.echo:
        from chatops.settings import load_settings

        asyncio.run(echo_server(load_settings(BusSettings)))
        return 0
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
