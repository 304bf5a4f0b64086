"""Exactly-once events, confirmations any replica can finish, and refusal audit events, on real NATS."""

from __future__ import annotations

import asyncio

from chatops import codec
from chatops.bus import Caller
from chatops.streams import provision
from chatops.subjects import AUDIT_PREFIX, KV_CONFIRMATIONS, KV_SEEN_EVENTS
from chatops.v1 import audit_pb2, sampling_pb2
from gateway.audit import publish, refusal_event
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


async def test_a_refusal_is_appended_to_the_audit_stream(nc):
    js = nc.jetstream()
    await provision(js)
    req = parse("change sampling always")
    assert isinstance(req, Request)
    caller = Caller(
        actor="slack:U2",
        actor_name="bob",
        channel="C9",
        source="slack",
        traceparent="00-" + "a" * 32 + "-" + "b" * 16 + "-01",
    )
    sub = await js.subscribe(f"{AUDIT_PREFIX}.>", ordered_consumer=True)
    await publish(js, refusal_event(req.command, req.message, caller, "only admins"))
    msg = await sub.next_msg(timeout=10)
    assert msg.subject == "chatops.audit.sampling.set"
    event = codec.decode(msg.data, audit_pb2.AuditEvent)
    assert (event.actor, event.actor_name, event.channel, event.source) == ("slack:U2", "bob", "C9", "slack")
    assert (event.command, event.outcome, event.error_code) == ("sampling.set", "error", 403)
    assert event.trace_id == "a" * 32
    assert '"SAMPLER_TYPE_ALWAYS"' in event.arguments
