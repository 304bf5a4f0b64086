"""Exactly-once events and confirmations any replica can finish, on real NATS."""

from __future__ import annotations

import asyncio
import contextlib

import nats.errors
from nats.js.errors import KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from chatops.streams import provision
from chatops.subjects import KV_CONFIRMATIONS, KV_SEEN_EVENTS
from chatops.v1 import sampling_pb2
from gateway.commands import Request, parse
from gateway.confirmations import Confirmations, expired, pending_for
from gateway.seen import SeenEvents, kv_key


class LostAnswers:
    """A real bucket whose create is carried out but its answer lost (`creates` times), and whose get
    fails while `down`: what a client sees of a slow or unreachable cluster."""

    def __init__(self, kv: KeyValue, creates: int = 1, down: bool = False) -> None:
        self.kv, self.creates, self.down = kv, creates, down

    async def create(self, key: str, value: bytes) -> int:
        if self.creates <= 0:
            return await self.kv.create(key, value)
        self.creates -= 1
        with contextlib.suppress(KeyWrongLastSequenceError):
            await self.kv.create(key, value)
        raise TimeoutError("the answer was lost")

    async def get(self, key: str) -> KeyValue.Entry:
        if self.down:
            raise nats.errors.NoRespondersError
        return await self.kv.get(key)


class LateCreate:
    """A real bucket whose first create times out unstored and lands just after the read that looks
    for it: a slow cluster storing a claim whose answer was already given up on."""

    def __init__(self, kv: KeyValue) -> None:
        self.kv = kv
        self.late: tuple[str, bytes] | None = None
        self.delayed = False

    async def create(self, key: str, value: bytes) -> int:
        if not self.delayed:
            self.delayed, self.late = True, (key, value)
            raise TimeoutError("the answer was lost")
        return await self.kv.create(key, value)

    async def get(self, key: str) -> KeyValue.Entry:
        try:
            return await self.kv.get(key)
        finally:
            if self.late is not None:
                late, self.late = self.late, None
                await self.kv.create(*late)


async def test_each_event_key_is_first_exactly_once_across_replicas(nc):
    js = nc.jetstream()
    await provision(js)
    replicas = [SeenEvents(await js.key_value(KV_SEEN_EVENTS)) for _ in range(3)]
    results = await asyncio.gather(*(r.first("Ev0ABCDEF") for r in replicas for _ in range(3)))
    assert sorted(results) == [False] * 8 + [True]
    assert await replicas[0].first("Ev0OTHER")
    odd = "C123/1700000000.000100 ünïcode"
    assert await replicas[1].first(odd)
    assert not await replicas[2].first(odd)
    assert kv_key("Ev0ABC") == "Ev0ABC" and kv_key(odd).startswith("h")


async def test_a_claim_whose_answer_was_lost_is_settled_by_what_was_stored(nc):
    js = nc.jetstream()
    await provision(js)
    kv = await js.key_value(KV_SEEN_EVENTS)
    # Another replica claimed it; this one's create was refused, but the refusal never came back.
    assert await SeenEvents(kv).first("Ev1LOSTREFUSAL")
    assert not await SeenEvents(LostAnswers(kv)).first("Ev1LOSTREFUSAL")
    # This one's create was stored and its answer lost: it is the first, and nobody after it is.
    assert await SeenEvents(LostAnswers(kv)).first("Ev1LOSTSTORED")
    assert not await SeenEvents(kv).first("Ev1LOSTSTORED")
    # Its create landed only after the read found nothing: the claim again is refused by its own.
    late = LateCreate(kv)
    assert await SeenEvents(late).first("Ev1LATE")
    assert late.delayed and late.late is None
    assert not await SeenEvents(kv).first("Ev1LATE")
    # Nothing answers at all: answer anyway (twice beats never).
    assert await SeenEvents(LostAnswers(kv, down=True)).first("Ev1LOSTSTORED")


async def test_a_confirmation_saved_by_one_replica_is_taken_once_by_another(nc):
    js = nc.jetstream()
    await provision(js)
    req = parse("change sampling float 0.5")
    assert isinstance(req, Request)
    mine = Confirmations(await js.key_value(KV_CONFIRMATIONS))
    theirs = Confirmations(await js.key_value(KV_CONFIRMATIONS))
    pending = pending_for(req, actor="slack:U1", actor_name="alice", channel="C1", thread_ts="1.2", ttl=60)
    await mine.save(pending)
    pending = await mine.attach_message(pending, "1.3")
    found = await theirs.get(pending.id)
    assert found is not None
    loaded, revision = found
    assert loaded == pending and not expired(loaded)
    assert loaded.command == "sampling.set"
    assert sampling_pb2.SetSamplingRequest.FromString(loaded.request) == req.message
    taken = await asyncio.gather(theirs.take(pending.id, revision), mine.take(pending.id, revision))
    assert sorted(taken) == [False, True]
    assert await mine.get(pending.id) is None
    assert await mine.get("no-such/key") is None
