"""The deploy lock and the deploy event log against a real nats-server."""

from __future__ import annotations

import pytest
from nats.aio.client import Client

from chatops.streams import provision
from chatops.subjects import DEPLOYS_STREAM
from chatops.v1 import deploys_pb2 as pb
from deployer.events import EventLog, is_ending, step_token
from deployer.lock import LockHeld, Locks, lock_bucket
from tools.harness.wait import eventually


def request(deploy: str, actor: str = "alice") -> pb.DeployEvent:
    event = pb.DeployEvent(
        deploy_id=deploy,
        service="petstore",
        step=pb.DEPLOY_STEP_REQUESTED,
        actor_name=actor,
        to_version="0.2.0",
    )
    event.time.GetCurrentTime()
    return event


async def test_one_deploy_per_service_and_the_refusal_names_the_holder(nc: Client) -> None:
    locks = Locks(await lock_bucket(nc.jetstream(), ttl=5), ttl=5)
    lease = await locks.acquire("petstore", request("d1"))
    with pytest.raises(LockHeld) as held:
        await locks.acquire("petstore", request("d2", actor="bob"))
    assert held.value.holder is not None and held.value.holder.deploy_id == "d1"
    other = await locks.acquire("billing", request("d3"))  # another service is not held up
    await lease.release()
    assert await locks.holder("petstore") is None
    again = await locks.acquire("petstore", request("d2", actor="bob"))
    await again.release()
    await other.release()


async def test_a_held_lock_outlives_its_ttl_while_refreshed_and_dies_with_its_holder(nc: Client) -> None:
    js = nc.jetstream()
    locks = Locks(await lock_bucket(js, ttl=1), ttl=1)
    lease = await locks.acquire("petstore", request("alive"))
    first = lease.revision

    async def refreshed() -> bool:
        return lease.revision >= first + 4  # four refreshes, a third of the TTL apart: past the TTL

    await eventually(refreshed, what="the lease refreshed past its TTL", timeout=60)
    with pytest.raises(LockHeld):
        await locks.acquire("petstore", request("late"))
    # A holder that dies stops refreshing: here its refresher stops, as a SIGKILL would stop it.
    assert lease._task is not None
    lease._task.cancel()
    taken = await locks.wait_acquire("petstore", request("next"), timeout=10)
    assert not lease.lost.is_set()
    assert (await locks.holder("petstore")).deploy_id == "next"  # type: ignore[union-attr]
    await taken.release()


async def test_a_changed_ttl_is_applied_to_the_bucket(nc: Client) -> None:
    js = nc.jetstream()
    await lock_bucket(js, ttl=30)
    await lock_bucket(js, ttl=3)
    assert (await js.stream_info("KV_chatops_deploy_locks")).config.max_age == 3


async def test_events_are_appended_under_their_step_and_read_back_in_order(nc: Client) -> None:
    js = nc.jetstream()
    await provision(js)
    log = EventLog(js)
    assert await log.read_all() == []
    first = request("d1")
    for step in (pb.DEPLOY_STEP_REQUESTED, pb.DEPLOY_STEP_STARTED, pb.DEPLOY_STEP_PROMOTED):
        first.step = step  # type: ignore[assignment]
        first.time.GetCurrentTime()
        await log.append(first)
    await log.append(first)  # the same event again (a retried publish) is stored once
    assert (await js.stream_info(DEPLOYS_STREAM)).state.messages == 3
    events = await log.read_all()
    assert [step_token(e.step) for e in events] == ["requested", "started", "promoted"]
    assert [e.sequence for e in events] == [1, 2, 3] and is_ending(events[-1])
    sub = await nc.subscribe("chatops.deploys.petstore.>")
    await log.append(request("d2"))
    msg = await sub.next_msg(timeout=10)
    assert msg.subject == "chatops.deploys.petstore.requested"
    assert pb.DeployEvent.FromString(msg.data).deploy_id == "d2"
    await sub.unsubscribe()
