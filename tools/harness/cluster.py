"""A NATS cluster on loopback for tests and benchmarks: three nats-servers with routes and JetStream
clustering, the identities of `chatops access` on every node, each node its own store and ports, each
killed and started again on its own. Its streams and buckets are provisioned at `replicas`."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from nats.aio.client import Client
from nats.js.errors import NotFoundError

from chatops import nats_server
from chatops.access.files import AccessFiles, Node, write_access
from chatops.bus import connect, jetstream
from chatops.launcher.spec import nats_component
from chatops.settings import BusSettings
from chatops.streams import Limits, names, provision_when_ready
from tools.harness.ports import LOOPBACK, free_port
from tools.harness.procs import Process
from tools.harness.wait import eventually, in_thread

START = 30.0  # seconds a node gets to accept connections


class NatsCluster:
    """`nodes` nats-servers forming one cluster; `url` names every node, as a component's NATS_URL does.

    Quacks like `tools.harness.servers.NatsServer` where the components need it (`env`, `settings`,
    `connect`, `start`, `stop`), so `tools.harness.components` starts ops, gateways and notifiers on it.
    """

    def __init__(self, workdir: Path, nodes: int = 3, *, replicas: int = 3, provisioned: bool = True) -> None:
        self.workdir = workdir
        self.replicas = replicas
        self.provisioned = provisioned
        self.nodes = [
            Node(free_port(), free_port(), workdir / f"node-{i}" / "jetstream") for i in range(nodes)
        ]
        self.files: AccessFiles = write_access(
            workdir / "access", host=LOOPBACK, server_name="test", cluster=self.nodes
        )
        binary = nats_server.find()
        self.procs = [
            Process(
                nats_component(
                    binary,
                    node.port,
                    node.store_dir,
                    config=self.files.node_config(number),
                    name=f"nats-{number}",
                ),
                workdir,
            )
            for number, node in enumerate(self.nodes, start=1)
        ]

    @property
    def url(self) -> str:
        return ",".join(self.node_url(i) for i in range(len(self.nodes)))

    def node_url(self, index: int) -> str:
        return f"nats://{LOOPBACK}:{self.nodes[index].port}"

    @property
    def limits(self) -> Limits:
        return Limits(replicas=self.replicas)

    def env(self, name: str) -> dict[str, str]:
        """What a process sets to connect as identity `name` to any node (NATS_URL names them all)."""
        return {"NATS_URL": self.url, "CHATOPS_REPLICAS": str(self.replicas), **self.files.env(name)}

    def settings(self, name: str) -> BusSettings:
        return BusSettings(**self.env(name))  # type: ignore[arg-type]

    async def connect(self, name: str) -> Client:
        """A client connected as identity `name`, to whichever node answers first; it moves on its own."""
        return await connect(self.settings(name), name)

    # -- lifecycle ------------------------------------------------------------------------------------
    def start(self) -> NatsCluster:
        """Every node at once (each waits for the others' routes), then the streams at `replicas`."""
        for proc in self.procs:
            proc.start(wait=False)
        for proc in self.procs:
            proc.wait_healthy(START)
        if self.provisioned:
            in_thread(provision_when_ready(self.settings("provisioner"), self.limits, timeout=60))
        return self

    def stop(self) -> None:
        for proc in self.procs:
            proc.stop()

    def kill_node(self, index: int) -> None:
        """SIGKILL one node, as a crashed machine would go."""
        self.procs[index].stop(signal.SIGKILL)

    def stop_node(self, index: int) -> None:
        """SIGTERM one node (nats-server's lame-duck-less shutdown), as a rolling restart does."""
        self.procs[index].stop()

    def start_node(self, index: int) -> None:
        """Start one node again on its ports and store; it catches up with the others by itself."""
        self.procs[index].start(timeout=START)

    def running(self, index: int) -> bool:
        return self.procs[index].running

    def index_of(self, server_name: str) -> int:
        """Which node a JetStream leader or peer name (`test-2`) is."""
        return int(server_name.rsplit("-", 1)[1]) - 1

    # -- what JetStream says --------------------------------------------------------------------------
    async def leader(self, nc: Client, stream: str) -> int:
        """The node that leads `stream` now (the provisioner may look at every stream)."""
        info = await jetstream(nc, self.settings("provisioner")).stream_info(stream)
        if info.cluster is None or not info.cluster.leader:
            raise AssertionError(f"{stream} has no leader now")
        return self.index_of(info.cluster.leader)

    async def caught_up(self, nc: Client, streams: list[str] | None = None, timeout: float = 60.0) -> None:
        """Until every stream has a leader and all its replicas are current (after a node came back)."""
        js = jetstream(nc, self.settings("provisioner"))

        async def current() -> bool:
            for name in streams or names(self.limits):
                try:
                    info = await js.stream_info(name)
                except NotFoundError:
                    continue
                cluster = info.cluster
                assert cluster is not None and cluster.leader, f"{name} has no leader"
                replicas = cluster.replicas or []
                assert len(replicas) + 1 == self.replicas, f"{name} has {len(replicas) + 1} replicas"
                lagging = [r.name for r in replicas if not r.current or r.offline]
                assert not lagging, f"{name}: {', '.join(str(n) for n in lagging)} not current"
            return True

        await eventually(current, timeout=timeout, interval=0.25, what="every stream led and current")

    async def provisioner(self) -> Client:
        return await self.connect("provisioner")


async def settle_cluster(cluster: NatsCluster, timeout: float = 60.0) -> None:
    """Connect as the provisioner and wait for every stream to be led and current."""
    nc = await cluster.provisioner()
    try:
        await cluster.caught_up(nc, timeout=timeout)
    finally:
        await nc.close()


def wait_caught_up(cluster: NatsCluster, timeout: float = 60.0) -> None:
    """`settle_cluster` from synchronous code."""
    in_thread(asyncio.wait_for(settle_cluster(cluster, timeout), timeout + 5))
