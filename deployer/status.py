"""Answers read from the projection and the manifest (pure): recent deploys, and "is my change live?"."""

from __future__ import annotations

from collections.abc import Mapping

from chatops.v1 import deploys_pb2 as pb
from deployer.events import is_ending
from deployer.manifest import Found, Manifest, looks_like_commit
from deployer.projection import InstanceState, ServiceState
from ops.errors import bad_request

SHOWN_MATCHES = 5


def summary(event: pb.DeployEvent) -> pb.DeploySummary:
    """One deploy, from its latest event."""
    out = pb.DeploySummary(
        deploy_id=event.deploy_id,
        service=event.service,
        kind=event.kind,
        actor=event.actor,
        actor_name=event.actor_name,
        from_version=event.from_version,
        to_version=event.to_version,
        step=event.step,
        reason=event.reason,
        in_progress=not is_ending(event),
    )
    out.requested_at.CopyFrom(event.requested_at)
    out.updated_at.CopyFrom(event.time)
    return out


def recent(states: Mapping[str, ServiceState], service: str, limit: int) -> list[pb.DeploySummary]:
    """The latest `limit` deploys (of `service`, or of every service), newest first."""
    events = [
        e for name, state in states.items() if not service or name == service for e in state.deploys.values()
    ]
    events.sort(key=lambda e: (e.requested_at.ToNanoseconds(), e.sequence), reverse=True)
    return [summary(e) for e in events[:limit]]


def _live_since(instance: InstanceState, versions: tuple[str, ...]) -> int:
    """Since when `instance` has run, without a break, one of `versions` (0 when it does not now)."""
    since = 0
    for version, started in reversed(instance.history):
        if version not in versions:
            break
        since = started or since
    return since


def locate(manifest: Manifest, ref: str, service: str) -> tuple[str, str, Found | None] | None:
    """(service, version, the commit if one was asked for), None when nothing matches; 400 when ambiguous."""
    if looks_like_commit(ref):
        found = manifest.find_commit(ref, service)
        if len(found) > 1:
            shown = "; ".join(f"{f.commit.id[:12]} {f.commit.subject}" for f in found[:SHOWN_MATCHES])
            raise bad_request(f"{ref} matches {len(found)} commits ({shown}); give more of the id")
        if found:
            return found[0].service, found[0].release.version, found[0]
    owners = [name for name in sorted(manifest.services) if (not service or name == service)]
    having = [name for name in owners if manifest.release(name, ref) is not None]
    if len(having) > 1:
        raise bad_request(f"{', '.join(having)} all have a release {ref}; say which service")
    return (having[0], ref, None) if having else None


def release_status(
    manifest: Manifest, states: Mapping[str, ServiceState], ref: str, service: str = ""
) -> pb.ReleaseStatusReply:
    """Which release has `ref`, and whether, where and since when it is live (without Prometheus)."""
    ref = ref.strip()
    if not ref:
        raise bad_request("say which commit (an id or a prefix of at least 4 hex digits) or version")
    located = locate(manifest, ref.lower() if looks_like_commit(ref) else ref, service)
    reply = pb.ReleaseStatusReply(ref=ref)
    if located is None:
        return reply
    name, version, found = located
    versions = manifest.versions_from(name, version)
    reply.found = True
    reply.service = name
    reply.version = version
    reply.versions.extend(versions)
    if found is not None:
        reply.commit.CopyFrom(pb.ReleaseCommit(id=found.commit.id, subject=found.commit.subject))
    state = states.get(name) or ServiceState(name)
    instances = [state.instances[n] for n in sorted(state.instances)]
    reply.instances.extend(i.to_pb() for i in instances)
    live = [i for i in instances if i.version in versions]
    reply.total_instances = len(instances)
    reply.live_instances = len(live)
    reply.live = bool(live)
    starts = [s for s in (_live_since(i, versions) for i in live) if s]
    if starts:
        reply.live_since.FromNanoseconds(min(starts))
    if state.in_progress is not None:
        reply.in_progress.CopyFrom(summary(state.in_progress))
    return reply
