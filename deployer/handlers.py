"""The deployer's command handlers: `Request -> Reply`, raising OpsError, as ops' are."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from google.protobuf.message import Message

from chatops.errors import NOT_FOUND
from chatops.v1 import deploys_pb2 as pb
from deployer.canary import CanaryWatch
from deployer.manifest import Manifest
from deployer.requests import request
from deployer.rollout import Deployer
from deployer.status import recent, release_status
from ops.auditlog import AuditLog
from ops.context import CallContext
from ops.errors import OpsError, bad_request

MAX_LIMIT = 100
DEFAULT_LIMIT = 10


@dataclass(frozen=True)
class DeployerDeps:
    """What the handlers use, built once by the app."""

    deployer: Deployer
    manifest: Manifest
    watch: CanaryWatch
    audit: AuditLog


def _own(deps: DeployerDeps, service: str) -> None:
    """This deployer owns one service; any other name is a 404 that says which one it owns."""
    owned = deps.deployer.service
    if service.strip() != owned:
        raise OpsError(NOT_FOUND, f"this deployer deploys {owned}, not {service.strip() or '(no service)'}")


async def start_deploy(deps: DeployerDeps, ctx: CallContext, req: pb.StartDeployRequest) -> Message:
    """Accept a deploy; its steps follow as events."""
    _own(deps, req.service)
    version = req.version.strip()
    if not version:
        raise bad_request("say which version, e.g. 0.2.0")
    event = await request(deps.deployer, pb.DEPLOY_KIND_DEPLOY, version, ctx)
    return pb.StartDeployReply(deploy=event)


async def rollback(deps: DeployerDeps, ctx: CallContext, req: pb.RollbackRequest) -> Message:
    """Accept a rollback to the previous version; its steps follow as events."""
    _own(deps, req.service)
    event = await request(deps.deployer, pb.DEPLOY_KIND_ROLLBACK, "", ctx)
    return pb.RollbackReply(deploy=event)


async def list_deploys(deps: DeployerDeps, ctx: CallContext, req: pb.ListDeploysRequest) -> Message:
    """Recent deploys, newest first."""
    limit = req.limit if req.HasField("limit") else DEFAULT_LIMIT
    if not 1 <= limit <= MAX_LIMIT:
        raise bad_request(f"limit must be 1 to {MAX_LIMIT} (leave it out for {DEFAULT_LIMIT}), not {limit}")
    states = deps.deployer.projection.services
    return pb.ListDeploysReply(deploys=recent(states, req.service.strip(), limit))


async def release_status_of(deps: DeployerDeps, ctx: CallContext, req: pb.ReleaseStatusRequest) -> Message:
    """Is this change live? The manifest and the events say; Prometheus confirms what reports in."""
    reply = release_status(deps.manifest, deps.deployer.projection.services, req.ref, req.service.strip())
    if reply.found:
        reporting = await deps.watch.reporting(tuple(reply.versions))
        if reporting is not None:
            reply.reporting = reporting
    return reply


HANDLERS: dict[str, Callable[[DeployerDeps, CallContext, Any], Awaitable[Message]]] = {
    "deploys.start": start_deploy,
    "deploys.rollback": rollback,
    "deploys.list": list_deploys,
    "deploys.status": release_status_of,
}
