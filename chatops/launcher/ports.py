"""The local stack's ports: the fixed defaults, a block from a base port, and in-use checks."""

from __future__ import annotations

import errno
import socket
from dataclasses import asdict, dataclass, fields

LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class Ports:
    """Every port the local stack listens on; the defaults are the project's fixed ones."""

    nats: int = 4222
    prometheus: int = 9090
    alertmanager: int = 9093
    petstore: int = 6742
    petstore_metrics: int = 9101
    ops_metrics: int = 9102
    otlp: int = 4318
    gateway_metrics: int = 9103
    gateway_http: int = 3000
    notifier: int = 9095
    slackemu: int = 3001
    # Added later, so that --base-port keeps the earlier ones where they were.
    petstore2: int = 6743
    petstore2_metrics: int = 9104
    deployer_metrics: int = 9105
    # `--cluster 3`: the other NATS nodes, every node's routes, and each replicated component's second.
    nats2: int = 4223
    nats3: int = 4224
    nats_route: int = 6222
    nats2_route: int = 6223
    nats3_route: int = 6224
    alertmanager2: int = 9097
    alertmanager_peer: int = 9094  # Alertmanager's gossip (its default cluster port)
    alertmanager2_peer: int = 9098
    ops2_metrics: int = 9106
    gateway2_metrics: int = 9107
    gateway2_http: int = 3002
    notifier2: int = 9096

    def __post_init__(self) -> None:
        for name, port in self.named().items():
            if not 1 <= port <= 65535:
                raise ValueError(f"port {name}={port} is outside 1..65535")
        if len(set(self.named().values())) != len(fields(self)):
            raise ValueError("two components would share one port")

    @classmethod
    def from_base(cls, base: int) -> Ports:
        """One consecutive block `base, base+1, …` in field order (for running beside another stack)."""
        names = [f.name for f in fields(cls)]
        if not 1024 <= base <= 65535 - len(names):
            raise ValueError(f"--base-port must be between 1024 and {65535 - len(names)}")
        return cls(**{name: base + i for i, name in enumerate(names)})

    def named(self) -> dict[str, int]:
        return asdict(self)

    def moved(self) -> dict[int, int]:
        """Default port -> this stack's port, for rewriting the committed configs."""
        default = Ports()
        return {getattr(default, name): port for name, port in self.named().items()}

    def addr(self, name: str) -> str:
        return f"{LOOPBACK}:{self.named()[name]}"

    def url(self, name: str, path: str = "") -> str:
        return f"http://{self.addr(name)}{path}"


# A replicated component's first replica's port -> its second's (`--cluster 3`, compose's profile).
SECOND = {
    "ops_metrics": "ops2_metrics",
    "gateway_metrics": "gateway2_metrics",
    "gateway_http": "gateway2_http",
    "notifier": "notifier2",
    "alertmanager": "alertmanager2",
}
# Node i's client and route ports, by name.
NATS_NODES = (("nats", "nats_route"), ("nats2", "nats2_route"), ("nats3", "nats3_route"))


def second_replicas(ports: Ports | None = None) -> dict[int, int]:
    """First replica's port -> the second replica's, for the defaults or `ports`."""
    named = (ports or Ports()).named()
    return {named[first]: named[second] for first, second in SECOND.items()}


def in_use(port: int, host: str = LOOPBACK) -> bool:
    """True when something already listens on host:port (binding it fails)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        # Without SO_REUSEADDR a port in TIME_WAIT would look busy though a server could bind it.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            return exc.errno in (errno.EADDRINUSE, errno.EACCES)
    return False


def first_busy(ports: dict[str, int]) -> tuple[str, int] | None:
    """The first (name, port) that is already taken, or None when all are free."""
    for name, port in ports.items():
        if in_use(port):
            return name, port
    return None
