"""Start-up and upkeep: install a new fleet, finish or roll back a deploy a restart interrupted (from
its events alone), and keep every instance at the version the projection says."""

from __future__ import annotations

import asyncio
import contextlib

from chatops import logs
from chatops.v1 import deploys_pb2 as pb
from deployer.events import step_token
from deployer.instances import StartFailed
from deployer.lock import Lease, LockHeld
from deployer.requests import new_request
from deployer.rollout import Deployer
from ops.context import CallContext

log = logs.get_logger(__name__)
MAX_BACKOFF = 30.0


async def start_up(d: Deployer, initial_version: str, lock_wait: float) -> None:
    """Look at what runs, then bring the fleet to what the events say; `d.ready` is set once it runs."""
    for slot in d.slots:
        probe = await d.look(slot)
        d.current[slot.name] = (probe.version, probe.since_ns) if probe.running else ("", 0)
        log.info("instance.found", instance=slot.name, version=probe.version or "-", pid=probe.pid or None)
    state = d.state
    in_flight = state.in_progress
    if in_flight is not None:
        await recover(d, in_flight, lock_wait)
    elif set(state.instances) != {s.name for s in d.slots} or not state.version:
        await install(d, state.version or initial_version, lock_wait)
    else:
        async with d.fleet_lock:
            await reconcile(d)
        d.ready.set()


async def install(d: Deployer, version: str, lock_wait: float) -> None:
    """A fleet the events do not describe (the first start, or new slots): start it at `version`."""
    release = d.release(version) or (d.manifest.releases(d.service) or (None,))[0]
    if release is None:
        raise ValueError(f"the release manifest has no release of {d.service}")
    ctx = CallContext(actor=f"deployer:{d.agent}", actor_name="deployer")
    request = new_request(d, pb.DEPLOY_KIND_INSTALL, release.version, ctx, "")
    request.from_version = ""
    request.reason = f"the fleet of {d.service} is new to the deploy events: starting it at {release.version}"
    lease = await d.locks.wait_acquire(d.service, request, lock_wait)
    try:
        await d.append(request, lease)
        async with d.fleet_lock:
            await finish_install(d, request, lease)
    finally:
        await lease.release()
    d.ready.set()


async def finish_install(d: Deployer, request: pb.DeployEvent, lease: Lease) -> None:
    release = d.release(request.to_version)
    assert release is not None
    failed = []
    for slot in d.slots:
        if d.current.get(slot.name, ("", 0))[0] == release.version:
            continue
        try:
            await d.switch(slot, release)
        except StartFailed as exc:
            failed.append(str(exc))
    if failed:
        await d.emit(request, pb.DEPLOY_STEP_FAILED, "; ".join(failed), lease=lease)
    else:
        await d.emit(request, pb.DEPLOY_STEP_PROMOTED, f"every instance runs {release.version}", lease=lease)


async def recover(d: Deployer, last: pb.DeployEvent, lock_wait: float) -> None:
    """A deploy whose last event is not an ending: the deployer stopped in the middle of it.

    A canary already proven healthy is watched again for a whole window and then promoted; anything
    earlier is rolled back. The lock of the dead holder expires first (it stopped refreshing it).
    """
    log.warning("deploy.resuming", deploy=last.deploy_id, step=step_token(last.step), to=last.to_version)
    try:
        lease = await d.locks.wait_acquire(d.service, last, lock_wait)
    except LockHeld as held:
        holder = held.holder.deploy_id if held.holder is not None else "?"
        log.error("deploy.resume_blocked", deploy=last.deploy_id, holder=holder)
        d.ready.set()
        return
    d.spawn(d.run(last, lease, lambda ctx, lease: resume(d, ctx, lease)))
    # Ready once the instances run again; the settling window, if any, goes on in the background.
    await d.ready.wait()


async def resume(d: Deployer, last: pb.DeployEvent, lease: Lease) -> None:
    try:
        if last.kind == pb.DEPLOY_KIND_INSTALL:
            await finish_install(d, last, lease)
            return
        canary = d.slot(last.canary)
        release = d.release(last.to_version)
        if last.step == pb.DEPLOY_STEP_CANARY_HEALTHY and canary is not None and release is not None:
            probe = await d.look(canary)
            if probe.running and probe.version == release.version:
                back = d.release(last.from_version)
                for slot in d.slots:
                    if slot != canary and not d.current.get(slot.name, ("", 0))[0] and back is not None:
                        with contextlib.suppress(StartFailed):  # promotion switches it anyway
                            await d.switch(slot, back)
                d.ready.set()
                context = await d.emit(
                    last,
                    pb.DEPLOY_STEP_CANARY_HEALTHY,
                    f"the deployer restarted while watching the canary; {d.watching(last)}",
                    lease=lease,
                )
                await d.settle_and_promote(context, canary, lease)
                return
            reason = f"the deployer restarted and the canary {last.canary} no longer runs {last.to_version}"
        else:
            step = step_token(last.step)
            reason = f"the deployer restarted at step {step}, before the canary was proven healthy"
        await d.roll_back(last, reason, None, lease)
    finally:
        d.ready.set()


async def reconcile(d: Deployer) -> list[str]:
    """Start every instance that does not run the version the projection gives it; returns the names of
    those that would not start."""
    failed = []
    for slot in d.slots:
        want = d.state.instances.get(slot.name)
        if want is None or not want.version:
            continue
        have = d.current.get(slot.name, ("", 0))[0]
        if have == want.version and (await d.look(slot)).running:
            continue
        release = d.release(want.version)
        if release is None:
            log.error("instance.unknown_version", instance=slot.name, version=want.version)
            continue
        log.warning("instance.restoring", instance=slot.name, found=have or "nothing", version=want.version)
        try:
            await d.switch(slot, release)
        except StartFailed as exc:
            log.error("instance.restore_failed", instance=slot.name, error=str(exc))
            failed.append(slot.name)
    return failed


async def supervise(d: Deployer, interval: float) -> None:
    """Between deploys, an instance that died is started again at its version, with back-off."""
    failures = 0
    while True:
        await asyncio.sleep(min(MAX_BACKOFF, interval * (2**failures)))
        if d.fleet_lock.locked() or d.state.in_progress is not None:
            continue
        async with d.fleet_lock:
            for slot in d.slots:
                if not (await d.look(slot)).running:
                    d.current[slot.name] = ("", 0)
            failed = await reconcile(d)
        failures = min(failures + 1, 5) if failed else 0
