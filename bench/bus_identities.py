"""What identities cost a command on the bus: request/reply through the service import (the server
stamping who sent it) against the same request on an open nats-server, with TLS as a third row.

    .venv/bin/python -m bench.bus_identities --requests 2000
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from nats.aio.msg import Msg

from bench import arguments
from tools.harness.servers import NatsServer

SUBJECT = "chatops.cmd.version.get"


async def timings(server: NatsServer, requests: int, *, requester: str, responder: str) -> list[float]:
    """Seconds per request, one at a time, answered by a bare echo in ops' queue group."""
    serving = await server.connect(responder)
    asking = await server.connect(requester)

    async def echo(msg: Msg) -> None:
        await msg.respond(msg.data)

    await serving.subscribe(SUBJECT, queue="ops", cb=echo)
    await serving.flush()
    found = []
    try:
        for _ in range(50):  # warm-up
            await asking.request(SUBJECT, b"{}", timeout=5)
        for _ in range(requests):
            started = time.perf_counter()
            await asking.request(SUBJECT, b"{}", timeout=5)
            found.append(time.perf_counter() - started)
    finally:
        await asking.close()
        await serving.close()
    return found


def row(name: str, values: list[float]) -> str:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return f"{name:<34} p50 {statistics.median(values) * 1e6:7.0f} µs   p99 {p99 * 1e6:7.0f} µs"


async def run(requests: int, root: Path) -> None:
    shapes: tuple[tuple[str, dict[str, bool], str, str], ...] = (
        ("open bus (one account)", {}, "test", "test"),
        ("identities (service import)", {"identities": True}, "gateway", "ops"),
        ("identities over TLS", {"identities": True, "tls": True}, "gateway", "ops"),
    )
    for n, (name, options, requester, responder) in enumerate(shapes):
        server = NatsServer(root / f"nats{n}", **options).start()
        try:
            print(row(name, await timings(server, requests, requester=requester, responder=responder)))
        finally:
            server.stop()


def main() -> None:
    p = arguments(__doc__)
    p.add_argument("--requests", type=int, default=2000)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(run(args.requests, Path(tmp)))


if __name__ == "__main__":
    main()
