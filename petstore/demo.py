"""Demo load: add pets from the bundled names list and search for names, some before they exist."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import grpc

from chatops import logs
from petstore.client import PetstoreClient
from petstore.model import Pet, PetKind
from petstore.v1 import petstore_pb2 as pb

log = logs.get_logger(__name__)
NAMES_FILE = Path(__file__).with_name("names.txt")


def bundled_names() -> list[str]:
    """The names in `petstore/names.txt`, without comments or blank lines."""
    # Beside this module rather than importlib.resources, which fails on namespace-style installs.
    text = NAMES_FILE.read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


@dataclass(frozen=True)
class DemoConfig:
    """How fast (ticks per second), for how long (None: until stopped), and the random seed."""

    rate: float = 2.0
    duration: float | None = None
    seed: int | None = None

    def __post_init__(self) -> None:
        if not 0 < self.rate <= 1000:
            raise ValueError("rate must be in (0, 1000] ticks per second")
        if self.duration is not None and self.duration <= 0:
            raise ValueError("duration must be positive seconds")


class DemoLoad:
    """Each tick adds the next pet and searches a random name; every few ticks something goes wrong."""

    def __init__(self, client: PetstoreClient, names: list[str], rng: random.Random) -> None:
        if not names:
            raise ValueError("the names list is empty")
        self._client = client
        self._names = names
        self._rng = rng
        self._ids: list[str] = []
        self._tick = 0
        self.outcomes: Counter[str] = Counter()

    async def tick(self) -> None:
        """One round of calls; failures are counted, never raised."""
        self._tick += 1
        await self._call("add", self._add())
        await self._call("search", self._search())
        if self._tick % 4 == 0:
            await self._call("malformed", self._malformed())
        if self._tick % 7 == 0:
            await self._call("update", self._update())
        if self._tick % 10 == 0:
            await self._call("delete", self._delete())

    async def _call(self, what: str, call: object) -> None:
        try:
            await call  # type: ignore[misc]
            self.outcomes[f"{what} OK"] += 1
        except grpc.aio.AioRpcError as exc:
            self.outcomes[f"{what} {exc.code().name}"] += 1
            if exc.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                log.warning("petstore.demo.unreachable", call=what, code=exc.code().name)

    def _pet(self, name: str) -> Pet:
        born = date(2010, 1, 1) + timedelta(days=self._rng.randrange(5000))
        return Pet(name, self._rng.choice(list(PetKind)), born)

    async def _add(self) -> None:
        name = self._names[(self._tick - 1) % len(self._names)]
        self._ids.extend(await self._client.add([self._pet(name)]))

    async def _search(self) -> None:
        # Any name from the whole list: early on most are not added yet, so results are often empty.
        await self._client.search(names=[self._rng.choice(self._names)])

    async def _malformed(self) -> None:
        bad = self._rng.randrange(4)
        if bad == 0:
            await self._client.search(names=[""])
        elif bad == 1:
            await self._client.search(born=(date(2020, 1, 2), date(2019, 1, 1)))
        elif bad == 2:
            await self._client.add([pb.Pet(name=self._rng.choice(self._names))])
        else:
            await self._client.delete(["00000000-0000-4000-8000-000000000000"])

    async def _update(self) -> None:
        if self._ids:
            pet_id = self._rng.choice(self._ids)
            pet = self._pet(self._rng.choice(self._names))
            await self._client.update([Pet(pet.name, pet.kind, pet.birthday, id=pet_id)])

    async def _delete(self) -> None:
        if self._ids:
            await self._client.delete([self._ids.pop(self._rng.randrange(len(self._ids)))])


async def run_demo(client: PetstoreClient, config: DemoConfig, stop: asyncio.Event) -> Counter[str]:
    """Tick at `config.rate` until `config.duration` passes or `stop` is set; returns the outcomes."""
    load = DemoLoad(client, bundled_names(), random.Random(config.seed))
    loop = asyncio.get_running_loop()
    end = None if config.duration is None else loop.time() + config.duration
    interval = 1.0 / config.rate
    next_at = loop.time()
    while not stop.is_set() and (end is None or loop.time() < end):
        await load.tick()
        next_at += interval
        wait = next_at - loop.time()
        if end is not None:
            wait = min(wait, end - loop.time())
        if wait > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), wait)
        else:
            next_at = loop.time()  # fell behind; do not burst to catch up
    return load.outcomes
