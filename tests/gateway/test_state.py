"""Exactly-once events and confirmations any replica can finish, on real NATS."""

from __future__ import annotations

import asyncio

from chatops.streams import provision
from chatops.subjects import KV_CONFIRMATIONS, KV_SEEN_EVENTS
from chatops.v1 import sampling_pb2
from gateway.commands import Request, parse
from gateway.confirmations import Confirmations, expired, pending_for
from gateway.seen import SeenEvents, kv_key


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
