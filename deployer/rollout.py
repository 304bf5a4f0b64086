"""Rolling a version out: canary first, watched for a settling window, then promoted or rolled back.

Every step is appended to CHATOPS_DEPLOYS before the deployer goes on, and applied to the projection;
`deployer.recovery` finishes or rolls back a deploy that a restart interrupted, from those events.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from chatops import logs
from chatops.v1 import deploys_pb2 as pb
from deployer.canary import CanaryWatch, Reading, final_verdict, too_many_errors
from deployer.events import EventLog, step_token
from deployer.instances import Probe, Runner, Slot, StartFailed
from deployer.lock import Lease, Locks
from deployer.manifest import Manifest, Release
from deployer.projection import Projection, ServiceState
from ops.errors import OpsError

log = logs.get_logger(__name__)


@dataclass(frozen=True)
class Timing:
    """How a canary is judged and how often the deployer looks."""

    settle: float
    check_interval: float
    max_error_ratio: float
    min_calls: int


LOOK_TRIES = 3
LOOK_PAUSE = 0.5


class LeaseLost(Exception):
    """Another holder took the deploy lock: stop touching the fleet."""


class Deployer:
    """Owns one service's instances on this host and every change to them."""

    def __init__(
        self,
        *,
        service: str,
        slots: tuple[Slot, ...],
        manifest: Manifest,
        runner: Runner,
        events: EventLog,
        locks: Locks,
        watch: CanaryWatch,
        projection: Projection,
        timing: Timing,
        agent: str,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self.service, self.slots, self.manifest, self.runner = service, slots, manifest, runner
        self.events, self.locks, self.watch, self.projection = events, locks, watch, projection
        self.timing, self.agent, self.clock = timing, agent, clock
        self.fleet_lock = asyncio.Lock()  # one change to the instances at a time in this process
        self.ready = asyncio.Event()  # the instances run (or were found running) after start-up
        self.current: dict[str, tuple[str, int]] = {}  # slot -> (version, since_ns) as the deployer sees it
        self.tasks: set[asyncio.Task[None]] = set()

    @property
    def state(self) -> ServiceState:
        return self.projection.service(self.service)

    def slot(self, name: str) -> Slot | None:
        return next((s for s in self.slots if s.name == name), None)

    def release(self, version: str) -> Release | None:
        return self.manifest.release(self.service, version)

    async def look(self, slot: Slot) -> Probe:
        """What runs in a slot. An instance whose process lives but does not answer is asked again a
        few times, so a slow answer on a busy host is not taken for a dead instance."""
        probe = await self.runner.probe(slot)
        for _ in range(LOOK_TRIES - 1):
            if probe.running or not probe.pid:
                break
            await asyncio.sleep(LOOK_PAUSE)
            probe = await self.runner.probe(slot)
        return probe

    # ----- events

    def fleet(self) -> list[pb.InstanceVersion]:
        out = []
        for slot in self.slots:
            version, since = self.current.get(slot.name, ("", 0))
            inst = pb.InstanceVersion(
                name=slot.name, version=version, address=slot.address, metrics=slot.metrics
            )
            if since:
                inst.since.FromNanoseconds(since)
            out.append(inst)
        return out

    async def emit(
        self,
        context: pb.DeployEvent,
        step: int,
        reason: str,
        *,
        canary: str | None = None,
        reading: Reading | None = None,
        lease: Lease | None = None,
    ) -> pb.DeployEvent:
        """Append the next step of `context`'s deploy with the fleet as it stands; retried until stored."""
        event = pb.DeployEvent()
        event.CopyFrom(context)
        event.step = step  # type: ignore[assignment]
        event.time.FromNanoseconds(self.clock())
        event.reason = reason
        event.agent = self.agent
        event.ClearField("sequence")
        if canary is not None:
            event.canary = canary
        event.ClearField("error_ratio")
        if reading is not None and reading.ratio is not None:
            event.error_ratio = reading.ratio
            event.canary_calls = round(reading.calls)
        del event.instances[:]
        event.instances.extend(self.fleet())
        await self.append(event, lease)
        return event

    async def append(self, event: pb.DeployEvent, lease: Lease | None = None) -> None:
        """Store and apply one event; the fleet does not move on until its step is on the bus."""
        delay = 0.25
        while True:
            if lease is not None and lease.lost.is_set():
                raise LeaseLost(event.deploy_id)
            try:
                event.sequence = await self.events.append(event)
                break
            except Exception as exc:
                log.warning(
                    "deploy.event_retry", step=step_token(event.step), error=f"{type(exc).__name__}: {exc}"
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
        self.projection.apply(event)
        log.info(
            "deploy.step",
            deploy=event.deploy_id,
            step=step_token(event.step),
            to=event.to_version,
            reason=event.reason,
        )

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def run(
        self,
        context: pb.DeployEvent,
        lease: Lease,
        body: Callable[[pb.DeployEvent, Lease], Awaitable[None]],
    ) -> None:
        """Run `body` under the fleet lock; whatever happens, the lease is given back."""
        try:
            async with self.fleet_lock:
                await body(context, lease)
        except LeaseLost:
            log.error("deploy.abandoned", deploy=context.deploy_id, reason="another holder took the lock")
        except asyncio.CancelledError:
            log.warning("deploy.interrupted", deploy=context.deploy_id)
            raise
        except Exception as exc:
            log.exception("deploy.crashed", deploy=context.deploy_id)
            await self.emit(
                context, pb.DEPLOY_STEP_FAILED, f"the deployer failed: {type(exc).__name__}: {exc}"
            )
        finally:
            await lease.release()

    # ----- the steps

    async def switch(self, slot: Slot, release: Release) -> None:
        """Put `release` in `slot`: stop what runs there, start it, wait until it is healthy."""
        await self.runner.stop(slot)
        self.current[slot.name] = ("", 0)
        since = await self.runner.start(slot, release)
        self.current[slot.name] = (release.version, since)

    async def rollout(self, req: pb.DeployEvent, lease: Lease) -> None:
        """A new deploy or rollback: the canary first, then the rest."""
        release = self.release(req.to_version)
        assert release is not None  # checked before the request was accepted
        canary = self.slots[0]
        context = await self.emit(
            req,
            pb.DEPLOY_STEP_STARTED,
            f"switching the canary {canary.name} to {release.version}",
            canary=canary.name,
            lease=lease,
        )
        try:
            await self.switch(canary, release)
        except StartFailed as exc:
            await self.roll_back(context, f"the canary did not start: {exc}", None, lease)
            return
        context = await self.emit(context, pb.DEPLOY_STEP_CANARY_HEALTHY, self.watching(context), lease=lease)
        await self.settle_and_promote(context, canary, lease)

    def watching(self, context: pb.DeployEvent) -> str:
        if context.settle_seconds <= 0:
            return f"the canary runs {context.to_version} and is healthy"
        return (
            f"the canary runs {context.to_version} and is healthy; watching its error ratio for "
            f"{context.settle_seconds:g}s (at most {context.max_error_ratio:.1%})"
        )

    async def settle_and_promote(self, context: pb.DeployEvent, canary: Slot, lease: Lease) -> None:
        """Watch the canary for the settling window, then switch the rest, or roll it back."""
        release = self.release(context.to_version)
        assert release is not None
        loop = asyncio.get_running_loop()
        started = loop.time()
        settle = context.settle_seconds
        reading: Reading | None = None
        while (elapsed := loop.time() - started) < settle:
            await asyncio.sleep(min(self.timing.check_interval, settle - elapsed))
            if lease.lost.is_set():
                raise LeaseLost(context.deploy_id)
            probe = await self.look(canary)
            if not probe.running or probe.version != release.version:
                await self.roll_back(
                    context, f"the canary failed its health check: {describe(probe)}", reading, lease
                )
                return
            try:
                reading = await self.watch.reading(canary.metrics, loop.time() - started)
            except OpsError as exc:
                log.warning("deploy.prometheus_failed", deploy=context.deploy_id, error=exc.text)
                continue
            bad = too_many_errors(reading, context.max_error_ratio, self.timing.min_calls)
            if bad is not None:
                into = f"{loop.time() - started:.1f}s into its {settle:g}s window"
                await self.roll_back(context, f"{bad.reason}, {into}", reading, lease)
                return
        reason = "the canary is healthy"
        if settle > 0:
            try:
                reading = await self.watch.reading(canary.metrics, loop.time() - started)
                seen = await self.watch.seen(canary.metrics, release.version)
            except OpsError as exc:
                await self.roll_back(
                    context, f"could not ask Prometheus about the canary: {exc.text}", reading, lease
                )
                return
            verdict = final_verdict(
                reading, seen, canary.metrics, release.version, context.max_error_ratio, self.timing.min_calls
            )
            if not verdict.ok:
                await self.roll_back(context, verdict.reason, reading, lease)
                return
            reason = verdict.reason
        for slot in self.slots:
            if slot == canary:
                continue
            if self.current.get(slot.name, ("", 0))[0] == release.version and (await self.look(slot)).running:
                continue
            try:
                await self.switch(slot, release)
            except StartFailed as exc:
                await self.roll_back(
                    context, f"{slot.name} did not start at {release.version}: {exc}", reading, lease
                )
                return
        done = (
            pb.DEPLOY_STEP_ROLLED_BACK if context.kind == pb.DEPLOY_KIND_ROLLBACK else pb.DEPLOY_STEP_PROMOTED
        )
        verb = "back on" if context.kind == pb.DEPLOY_KIND_ROLLBACK else "on"
        await self.emit(
            context,
            done,
            f"every instance is {verb} {release.version}; {reason}",
            reading=reading,
            lease=lease,
        )

    async def roll_back(
        self, context: pb.DeployEvent, reason: str, reading: Reading | None, lease: Lease | None
    ) -> None:
        """Put every instance back on the deploy's `from` version; FAILED when that does not work."""
        back = self.release(context.from_version)
        broken: list[str] = []
        for slot in self.slots:
            if back is None:
                broken.append(f"{context.from_version or 'the earlier version'} is not in the manifest")
                break
            if self.current.get(slot.name, ("", 0))[0] == back.version and (await self.look(slot)).running:
                continue
            try:
                await self.switch(slot, back)
            except StartFailed as exc:
                broken.append(str(exc))
        if broken:
            await self.emit(
                context,
                pb.DEPLOY_STEP_FAILED,
                f"{reason}; going back failed: {'; '.join(broken)}",
                reading=reading,
                lease=lease,
            )
        elif context.kind == pb.DEPLOY_KIND_DEPLOY:
            await self.emit(
                context,
                pb.DEPLOY_STEP_ROLLED_BACK,
                f"{reason}; every instance is back on {back.version}",  # type: ignore[union-attr]
                reading=reading,
                lease=lease,
            )
        else:
            await self.emit(
                context,
                pb.DEPLOY_STEP_FAILED,
                f"{reason}; every instance still runs {context.from_version}",
                reading=reading,
                lease=lease,
            )


def describe(probe: Probe) -> str:
    if not probe.version:
        return "it is not running" if not probe.pid else "it does not answer on /metrics"
    if not probe.healthy:
        return f"/healthz fails (it runs {probe.version})"
    return f"it runs {probe.version}"
