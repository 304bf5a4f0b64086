"""The state of each service as a projection of its deploy events (pure: events in, state out)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from chatops.v1 import deploys_pb2 as pb
from deployer.events import is_ending

HISTORY = 50  # versions remembered per instance


@dataclass(frozen=True)
class InstanceState:
    """One instance: what it runs since when, and what it ran before (oldest first)."""

    name: str
    version: str
    address: str
    metrics: str
    since_ns: int
    history: tuple[tuple[str, int], ...] = ()  # (version, since_ns), the current one last

    def to_pb(self) -> pb.InstanceVersion:
        out = pb.InstanceVersion(
            name=self.name, version=self.version, address=self.address, metrics=self.metrics
        )
        if self.since_ns:
            out.since.FromNanoseconds(self.since_ns)
        return out


@dataclass
class ServiceState:
    """Everything the events say about one service."""

    service: str
    instances: dict[str, InstanceState] = field(default_factory=dict)
    deploys: dict[str, pb.DeployEvent] = field(default_factory=dict)  # id -> latest event, oldest first
    settled: list[str] = field(default_factory=list)  # versions the whole fleet ran after a deploy ended

    @property
    def in_progress(self) -> pb.DeployEvent | None:
        """The latest event of a deploy that has not ended, if any."""
        return next((e for e in reversed(self.deploys.values()) if not is_ending(e)), None)

    @property
    def version(self) -> str:
        """The one version every instance runs, or "" when they differ (or none runs)."""
        versions = {i.version for i in self.instances.values()}
        return versions.pop() if len(versions) == 1 else ""

    @property
    def previous(self) -> str:
        """The version the fleet ran before the one it runs now: where `rollback` goes."""
        current = self.version
        if not current or not self.settled or self.settled[-1] != current:
            return ""
        return next((v for v in reversed(self.settled[:-1]) if v != current), "")

    def fleet(self) -> list[pb.InstanceVersion]:
        return [self.instances[name].to_pb() for name in sorted(self.instances)]


class Projection:
    """Apply events in stream order; the deployer applies its own as it appends them."""

    def __init__(self) -> None:
        self.services: dict[str, ServiceState] = {}
        self.last_sequence = 0

    @classmethod
    def rebuild(cls, events: Iterable[pb.DeployEvent]) -> Projection:
        projection = cls()
        for event in events:
            projection.apply(event)
        return projection

    def service(self, name: str) -> ServiceState:
        return self.services.setdefault(name, ServiceState(name))

    def apply(self, event: pb.DeployEvent) -> None:
        state = self.service(event.service)
        kept = pb.DeployEvent()
        kept.CopyFrom(event)
        state.deploys[event.deploy_id] = kept  # a known id keeps its place: the order of requests
        for inst in event.instances:
            state.instances[inst.name] = _moved(state.instances.get(inst.name), inst)
        if is_ending(event) and state.version and (not state.settled or state.settled[-1] != state.version):
            state.settled.append(state.version)
        self.last_sequence = max(self.last_sequence, int(event.sequence))


def _moved(before: InstanceState | None, now: pb.InstanceVersion) -> InstanceState:
    """The instance after an event: a new version (or a restart) adds to its history."""
    since = now.since.ToNanoseconds() if now.HasField("since") else 0
    if before is not None and before.version == now.version and since in (0, before.since_ns):
        return replace(before, address=now.address, metrics=now.metrics)
    history = (*(before.history if before is not None else ()), (now.version, since))[-HISTORY:]
    return InstanceState(now.name, now.version, now.address, now.metrics, since, history)
