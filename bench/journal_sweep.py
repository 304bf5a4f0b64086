"""How fast a journal sweep reads the bucket: `--entries` journal entries read one request each (how a
sweep read them all before) against the same entries read in batches through a pull consumer (how a
sweep reads past its first few now), as the gateway identity, on one nats-server and on a 3-node
cluster with the bucket at three replicas. Then how long one Recovery sweep takes over that many
entries that are done (a gateway starting after a day of messages).

    .venv/bin/python -m bench.journal_sweep [--entries 2000] [--rounds 3] [--no-cluster]
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from nats.aio.client import Client

from bench import arguments
from chatops.bus import jetstream
from chatops.settings import BusSettings
from chatops.subjects import KV_JOURNAL
from gateway.journal import Journal, Ticket
from gateway.metrics import GatewayMetrics
from gateway.recovery import SCAN_LIMIT, Recovery
from gateway.slack.events import ChatMessage
from tools.harness.cluster import NatsCluster, settle_cluster
from tools.harness.servers import NatsServer, running

ONE_BY_ONE = 10**9  # a `few` no scan reaches: every entry one request


async def fill(journal: Journal, entries: int) -> None:
    """`entries` messages journaled and answered (done), as a day of chat leaves them."""
    for n in range(entries):
        msg = ChatMessage(f"Ev0BENCH{n}", "U1", "C1", "show sampling", f"1.{n}", f"1.{n}", direct=False)
        ticket = await journal.open(msg)
        assert ticket is not None
        await journal.close(ticket)


async def timed(read: Callable[[], Awaitable[int]], rounds: int, entries: int) -> list[float]:
    found = []
    for _ in range(rounds):
        started = time.perf_counter()
        got = await read()
        found.append(time.perf_counter() - started)
        assert got == entries, f"read {got} of {entries}"
    return found


def row(name: str, seconds: list[float], entries: int) -> str:
    median = statistics.median(seconds)
    return f"  {name:<44} {median:7.3f} s   {entries / median:9.0f} entries/s   (min {min(seconds):.3f} s)"


async def measure(nc: Client, settings: BusSettings, entries: int, rounds: int) -> None:
    js = jetstream(nc, settings)
    kv = await js.key_value(KV_JOURNAL)
    await fill(Journal(js, kv, "bench-writer"), entries)

    async def read_all(few: int) -> int:
        return len([f async for f in Journal(js, kv, "bench-reader", few=few).scan(0, entries)])

    one = await timed(lambda: read_all(ONE_BY_ONE), rounds, entries)
    batched = await timed(lambda: read_all(32), rounds, entries)
    print(row("one request per entry (before)", one, entries))
    print(row("32 one by one, the rest in batches (now)", batched, entries))
    print(f"  {'batched is faster by':<44} {statistics.median(one) / statistics.median(batched):7.1f} x")

    async def answer(ticket: Ticket) -> str:
        raise AssertionError("every entry is done: nothing is taken over")

    async def give_up(ticket: Ticket) -> None:
        raise AssertionError("every entry is done: nothing is given up on")

    async def sweep() -> int:
        journal = Journal(js, kv, "bench-sweeper")
        recovery = Recovery(journal, answer, give_up, GatewayMetrics(), stale_after=30, interval=60)
        await recovery.sweep()
        return recovery.cursor // 2  # each entry was written twice (taken, then done)

    read = min(entries, SCAN_LIMIT)
    print(row(f"one sweep from the start (reads {read})", await timed(sweep, rounds, read), read))


async def run(entries: int, rounds: int, cluster: bool, root: Path) -> None:
    print(f"journal sweep: {entries} entries, median of {rounds} rounds")
    with running(NatsServer(root / "single", identities=True)) as server:
        print("one nats-server, as the gateway identity:")
        async with server.connected("gateway") as nc:
            await measure(nc, server.settings("gateway"), entries, rounds)
    if not cluster:
        return
    with running(NatsCluster(root / "cluster")) as nodes:
        await settle_cluster(nodes)
        print("3-node cluster (bucket at 3 replicas), as the gateway identity:")
        nc = await nodes.connect("gateway")
        try:
            await measure(nc, nodes.settings("gateway"), entries, rounds)
        finally:
            await nc.close()


def main() -> None:
    p = arguments(__doc__)
    p.add_argument("--entries", type=int, default=2000)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--no-cluster", action="store_true", help="only the single nats-server")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(run(args.entries, args.rounds, not args.no_cluster, Path(tmp)))


if __name__ == "__main__":
    main()
