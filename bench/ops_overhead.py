"""What ops adds to a command: p50/p99 through ops vs the same backend call made directly vs a bare echo.

Starts its own nats-server, petstore, Prometheus and one ops process on loopback, then prints, for
sampling.get (petstore GetSampler over gRPC) and version.get (a Prometheus instant query):
ops round trip, direct backend call, bare nats-py echo, and ops / (echo + direct).

    .venv/bin/python bench/ops_overhead.py [--iterations 300]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import grpc
import nats
from nats.aio.msg import Msg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from chatops import codec  # noqa: E402
from chatops.contract import command  # noqa: E402
from chatops.v1 import sampling_pb2, version_pb2  # noqa: E402
from petstore.v1 import petstore_pb2, petstore_pb2_grpc  # noqa: E402
from tests.harness.petstore import EnvProc, Petstore  # noqa: E402
from tests.harness.servers import LOOPBACK, NatsServer, Prometheus, env_with, free_port, wait_http  # noqa: E402

ECHO_SUBJECT = "bench.echo"


def pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def timed(n: int, call: Callable[[], Awaitable[object]]) -> list[float]:
    for _ in range(min(20, n)):  # warm up connections and caches
        await call()
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        await call()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def line(label: str, ms: list[float]) -> str:
    return f"  {label:<34} p50 {pct(ms, 50):7.3f} ms   p99 {pct(ms, 99):7.3f} ms"


async def echo_server(url: str) -> None:
    """The bare responder, in a process of its own like ops."""
    nc = await nats.connect(url)

    async def reply(msg: Msg) -> None:
        await msg.respond(msg.data)

    await nc.subscribe(ECHO_SUBJECT, cb=reply)
    await asyncio.Event().wait()


async def measure(n: int, nats_url: str, petstore_addr: str, prom_url: str) -> None:
    nc = await nats.connect(nats_url)
    headers = {"Chatops-Actor": "bench:ops", "Chatops-Source": "bench"}
    get_cmd, ver_cmd = command("sampling.get"), command("version.get")
    get_body = codec.encode(sampling_pb2.GetSamplingRequest())
    ver_body = codec.encode(version_pb2.GetVersionRequest())

    async def via_ops(subject: str, body: bytes) -> None:
        msg = await nc.request(subject, body, timeout=10, headers=headers)
        if msg.headers and "Nats-Service-Error-Code" in msg.headers:
            raise RuntimeError(f"{subject}: {msg.headers}")

    async def echo() -> None:
        await nc.request(ECHO_SUBJECT, get_body, timeout=10)

    channel = grpc.aio.insecure_channel(petstore_addr)
    stub = petstore_pb2_grpc.PetStoreStub(channel)  # type: ignore[no-untyped-call]

    async def direct_grpc() -> None:
        await stub.GetSampler(petstore_pb2.GetSamplerRequest(), timeout=10)

    async with aiohttp.ClientSession() as session:

        async def direct_prom() -> None:
            params = {"query": 'petstore_build_info{job="petstore"}'}
            async with session.get(f"{prom_url}/api/v1/query", params=params) as resp:
                await resp.read()

        echo_ms = await timed(n, echo)
        results = {
            "sampling.get": (
                await timed(n, lambda: via_ops(get_cmd.subject, get_body)),
                await timed(n, direct_grpc),
                "GetSampler over gRPC, direct",
            ),
            "version.get": (
                await timed(n, lambda: via_ops(ver_cmd.subject, ver_body)),
                await timed(n, direct_prom),
                "Prometheus query over HTTP, direct",
            ),
        }
    await channel.close(None)
    await nc.close()
    print(f"ops overhead, {n} sequential requests each (loopback, one client)")
    for name, (ops_ms, direct_ms, label) in results.items():
        print(f"{name}:")
        print(line(f"{name} through ops", ops_ms))
        print(line(label, direct_ms))
        print(line("bare nats-py echo", echo_ms))
        for p in (50, 99):
            ratio = pct(ops_ms, p) / (pct(echo_ms, p) + pct(direct_ms, p))
            print(f"  ratio ops / (echo + direct) at p{p}: {ratio:.2f}")
        print(f"  mean through ops {statistics.fmean(ops_ms):.3f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=300, help="requests per measurement (max 5000)")
    parser.add_argument("--echo", metavar="NATS_URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.echo:
        asyncio.run(echo_server(args.echo))
        return 0
    n = max(10, min(args.iterations, 5000))
    with tempfile.TemporaryDirectory(prefix="ops-bench-") as tmp:
        work = Path(tmp)
        server = NatsServer(work / "nats").start()
        petstore = Petstore(work / "petstore", sampler="never").start()
        prom = Prometheus(work / "prom", scrape_targets={"petstore": [petstore.metrics_target]}).start()
        metrics = f"{LOOPBACK}:{free_port()}"
        ops = EnvProc([sys.executable, "-m", "ops"], work / "ops", "ops")
        ops.env = env_with(
            NATS_URL=server.url,
            PETSTORE_ADDR=petstore.addr,
            PROMETHEUS_URL=prom.url,
            TRACE_STORE_PATH=str(work / "traces.db"),
            OTLP_LISTEN=f"{LOOPBACK}:{free_port()}",
            OPS_METRICS_LISTEN=metrics,
            LOG_LEVEL="WARNING",
            PYTHONPATH=str(ROOT),
        )
        echo = subprocess.Popen([sys.executable, __file__, "--echo", server.url])
        try:
            ops.start()
            wait_http(f"http://{metrics}/healthz", 60, ops.proc)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:  # let Prometheus scrape the petstore once
                if b'"version"' in fetch(f"{prom.url}/api/v1/query?query=petstore_build_info"):
                    break
                time.sleep(0.5)
            asyncio.run(measure(n, server.url, petstore.addr, prom.url))
        finally:
            echo.terminate()
            echo.wait(10)
            ops.stop()
            prom.stop()
            petstore.stop()
            server.stop()
    return 0


def fetch(url: str) -> bytes:
    """GET a URL without an event loop; b"" when it fails."""
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return bytes(resp.read())
    except OSError:
        return b""


if __name__ == "__main__":
    sys.exit(main())
