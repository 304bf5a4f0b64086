"""Where each stream lives on a NATS cluster: the node that leads it and its replicas, each current or
how far behind. `chatops up --cluster 3` prints it; tests and benchmarks find a stream's leader by it."""

from __future__ import annotations

from dataclasses import dataclass

from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from chatops.streams import kv_stream, names
from chatops.subjects import KV_DEPLOY_LOCKS


@dataclass(frozen=True)
class Replica:
    """A follower of a stream: its server, whether it has everything, how many operations behind."""

    server: str
    current: bool
    lag: int
    offline: bool = False

    def __str__(self) -> str:
        if self.offline:
            return f"{self.server} (offline)"
        return self.server if self.current else f"{self.server} ({self.lag} behind)"


@dataclass(frozen=True)
class Placement:
    """One stream's leader (empty while it has none) and followers."""

    stream: str
    leader: str
    followers: tuple[Replica, ...]

    @property
    def replicas(self) -> int:
        return len(self.followers) + (1 if self.leader else 0)

    @property
    def healthy(self) -> bool:
        """Led, and every follower current: losing any one node now loses nothing."""
        return bool(self.leader) and all(r.current and not r.offline for r in self.followers)


async def placement(js: JetStreamContext, stream: str) -> Placement | None:
    """Where `stream` is now; None when it does not exist (or the server is not a cluster: no leader)."""
    try:
        info = await js.stream_info(stream)
    except NotFoundError:
        return None
    cluster = info.cluster
    if cluster is None:
        return None
    followers = tuple(
        Replica(str(r.name), bool(r.current), int(r.lag or 0), bool(r.offline))
        for r in cluster.replicas or []
    )
    return Placement(stream, str(cluster.leader or ""), followers)


async def placements(js: JetStreamContext) -> list[Placement]:
    """Every stream and bucket of the contract that exists, in the contract's order, and the
    deployer's lock bucket (which it makes itself)."""
    found = []
    for stream in [*names(), kv_stream(KV_DEPLOY_LOCKS)]:
        where = await placement(js, stream)
        if where is not None:
            found.append(where)
    return found
