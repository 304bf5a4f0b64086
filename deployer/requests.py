"""Asking for a deploy or a rollback: check it, take the service's lock, record `requested`, start it."""

from __future__ import annotations

import secrets
import time

from chatops import logs
from chatops.errors import BACKEND_FAILED, BAD_REQUEST, CONFLICT
from chatops.v1 import deploys_pb2 as pb
from deployer.lock import LockHeld
from deployer.rollout import Deployer
from ops.context import CallContext
from ops.errors import OpsError

log = logs.get_logger(__name__)
KIND_WORD = {
    pb.DEPLOY_KIND_DEPLOY: "deploy",
    pb.DEPLOY_KIND_ROLLBACK: "rollback",
    pb.DEPLOY_KIND_INSTALL: "install",
}


def when(ns: int) -> str:
    return time.strftime("%H:%M:%S UTC", time.gmtime(ns / 1e9))


def who(event: pb.DeployEvent) -> str:
    return event.actor_name or event.actor


def conflict(service: str, holder: pb.DeployEvent | None) -> OpsError:
    """The 409 for a deploy asked for while another runs, naming who runs it."""
    if holder is None:
        return OpsError(CONFLICT, f"another deploy of {service} is finishing; try again in a moment")
    what = KIND_WORD.get(holder.kind, "deploy")
    return OpsError(
        CONFLICT,
        f"{service} is busy: {who(holder)} started a {what} ({holder.from_version or '-'} → "
        f"{holder.to_version}, deploy {holder.deploy_id}) at {when(holder.requested_at.ToNanoseconds())}; "
        "wait for it to finish (`deploys` shows it)",
    )


def new_request(d: Deployer, kind: int, to_version: str, ctx: CallContext, reason: str) -> pb.DeployEvent:
    now = d.clock()
    event = pb.DeployEvent(
        deploy_id=f"{d.service}-{secrets.token_hex(4)}",
        service=d.service,
        step=pb.DEPLOY_STEP_REQUESTED,
        kind=kind,  # type: ignore[arg-type]
        actor=ctx.actor,
        actor_name=ctx.actor_name,
        from_version=from_version(d),
        to_version=to_version,
        reason=reason,
        settle_seconds=d.timing.settle if kind == pb.DEPLOY_KIND_DEPLOY else 0.0,
        max_error_ratio=d.timing.max_error_ratio,
        request_id=ctx.request_id,
        channel=ctx.channel,
        agent=d.agent,
    )
    event.time.FromNanoseconds(now)
    event.requested_at.FromNanoseconds(now)
    event.instances.extend(d.fleet())
    return event


def from_version(d: Deployer) -> str:
    """What the fleet runs now: the canary's version, else any running one."""
    first = d.current.get(d.slots[0].name, ("", 0))[0]
    return first or next((v for v, _ in d.current.values() if v), "")


def check(d: Deployer, kind: int, version: str) -> str:
    """The version a request goes to, or OpsError saying why it cannot (pure but for state)."""
    if not d.ready.is_set():
        raise OpsError(CONFLICT, f"the deployer is still bringing up {d.service}; try again in a moment")
    if d.state.in_progress is not None:
        raise conflict(d.service, d.state.in_progress)
    known = ", ".join(r.version for r in d.manifest.releases(d.service))
    if kind == pb.DEPLOY_KIND_ROLLBACK:
        current, previous = d.state.version, d.state.previous
        if not current:
            raise OpsError(
                BAD_REQUEST,
                f"{d.service}'s instances do not all run one version; deploy the one you want instead",
            )
        if not previous:
            raise OpsError(BAD_REQUEST, f"{d.service} has run only {current}: there is nothing to go back to")
        version = previous
    if d.release(version) is None:
        raise OpsError(
            BAD_REQUEST,
            f"{d.service} has no release {version} in the release manifest; it knows {known}",
        )
    if all(d.current.get(s.name, ("", 0))[0] == version for s in d.slots):
        raise OpsError(BAD_REQUEST, f"every instance of {d.service} already runs {version}")
    return version


async def request(d: Deployer, kind: int, version: str, ctx: CallContext) -> pb.DeployEvent:
    """Check, take the lock, record `requested`, and run the rest in the background."""
    target = check(d, kind, version)
    name = ctx.actor_name or ctx.actor
    reason = (
        f"{name} asked to go back to {target}"
        if kind == pb.DEPLOY_KIND_ROLLBACK
        else f"{name} asked for {target}"
    )
    event = new_request(d, kind, target, ctx, reason)
    try:
        lease = await d.locks.acquire(d.service, event)
    except LockHeld as held:
        raise conflict(d.service, held.holder) from None
    try:
        event.sequence = await d.events.append(event)
    except Exception as exc:
        await lease.release()
        raise OpsError(
            BACKEND_FAILED, f"could not record the deploy on the bus: {type(exc).__name__}"
        ) from None
    d.projection.apply(event)
    log.info(
        "deploy.requested", deploy=event.deploy_id, to=target, actor=ctx.actor, request_id=ctx.request_id
    )
    d.spawn(d.run(event, lease, d.rollout))
    return event
