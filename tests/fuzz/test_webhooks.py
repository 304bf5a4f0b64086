"""Over a thousand broken webhooks at a real notifier process: each one a 4xx with the reason, none stored.

The notifier runs as `python -m notifier` against a real nats-server; its resident memory is read from
/proc before and after, so a notifier that kept bodies (or parsed many big ones at once) would show.
"""

from __future__ import annotations

import asyncio
import io
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from chatops.subjects import ALERTS_STREAM
from tests.fuzz.draw import drawn
from tests.fuzz.webhooks import FIXTURE, Body, build, malformed
from tools.harness import components
from tools.harness.components import NOTIFIER_TOKEN, Service
from tools.harness.servers import NatsServer, running

pytestmark = pytest.mark.slow

TOKEN = NOTIFIER_TOKEN
AUTH = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
BATCH = 50
BATCHES = 22  # 1,100 webhooks
CONCURRENCY = 8
RSS_GROWTH_LIMIT = 64 << 20  # a notifier that kept what it refused would hold far more than this


@dataclass
class Notifier:
    service: Service
    nats: NatsServer

    @property
    def url(self) -> str:
        return f"{self.service.url}/alerts"

    @property
    def pid(self) -> int:
        assert self.service.proc.popen is not None
        return self.service.proc.popen.pid

    def rss(self) -> int:
        """Resident memory of the notifier process, in bytes."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS")


@pytest.fixture(scope="module")
def notifier(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Notifier]:
    root = tmp_path_factory.mktemp("notifier-fuzz")
    with running(NatsServer(root / "nats")) as nats:
        service = components.notifier(root / "notifier", nats, LOG_LEVEL="WARNING")
        with running(service):
            yield Notifier(service, nats)


async def post_all(url: str, bodies: list[Body], auth: dict[str, str] = AUTH) -> list[tuple[str, int, str]]:
    gate = asyncio.Semaphore(CONCURRENCY)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:

        async def one(kind: str, body: bytes) -> tuple[str, int, str]:
            try:
                async with gate, http.post(url, data=io.BytesIO(body), headers=auth) as resp:
                    reason = ""
                    if resp.content_type == "application/json":
                        reason = str((await resp.json()).get("error", ""))
                    return kind, resp.status, reason
            except aiohttp.ClientError as exc:  # no answer at all: the assertion says which body
                return kind, -1, f"{type(exc).__name__}: {exc}"

        return await asyncio.gather(*(one(kind, body) for kind, body in bodies))


async def stored_count(nats: NatsServer) -> int:
    nc = await nats.connect("fuzz-count")
    try:
        return int((await nc.jetstream().stream_info(ALERTS_STREAM)).state.messages)
    finally:
        await nc.close()


def test_a_thousand_broken_webhooks_are_refused_with_reasons_and_none_stored(notifier: Notifier) -> None:
    loop = asyncio.new_event_loop()
    kinds: Counter[str] = Counter()
    try:
        recipes = drawn(malformed, BATCHES, BATCH)
        started = time.monotonic()
        before = 0
        for n in range(0, len(recipes), BATCH):
            bodies = [build(r) for r in recipes[n : n + BATCH]]
            for kind, status, reason in loop.run_until_complete(post_all(notifier.url, bodies)):
                assert 400 <= status < 500, f"{kind}: {status} {reason}"
                assert reason, f"{kind}: {status} without a reason"
                kinds[kind] += 1
            if n == 0:  # after the first batch: what any notifier holds once it has served a while
                before = notifier.rss()
        # Without the token, even a valid body is refused.
        [(_, status, reason)] = loop.run_until_complete(
            post_all(notifier.url, [("no token", FIXTURE.read_bytes())], {"Content-Type": "application/json"})
        )
        assert (status, reason) == (401, "missing or wrong bearer token")
        after = notifier.rss()
        seconds = time.monotonic() - started
        assert sum(kinds.values()) >= 1000
        assert loop.run_until_complete(stored_count(notifier.nats)) == 0
        # The count can see a stored notification: a valid one is stored.
        [(_, status, _)] = loop.run_until_complete(post_all(notifier.url, [("valid", FIXTURE.read_bytes())]))
        assert status == 200
        assert loop.run_until_complete(stored_count(notifier.nats)) == 1
        assert after - before < RSS_GROWTH_LIMIT, f"RSS grew {(after - before) >> 20} MiB"
        print(
            f"{sum(kinds.values())} broken webhooks refused in {seconds:.0f}s; notifier RSS "
            f"{before >> 20} -> {after >> 20} MiB; kinds: {dict(kinds)}"
        )
    finally:
        loop.close()
