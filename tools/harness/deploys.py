"""The deploy agent for tests and benchmarks: its instance slots, a load on them, its events as they
are published, and asking it for a deploy the way any tool does."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from nats.aio.client import Client
from nats.aio.msg import Msg

from chatops.bus import Caller, call
from chatops.contract import command
from chatops.subjects import DEPLOYS_PREFIX
from chatops.v1 import deploys_pb2 as pb
from deployer.events import step_token
from deployer.instances import build_info_version
from petstore.client import PetstoreClient
from petstore.demo import DemoConfig, run_demo
from tools.harness import components
from tools.harness.ports import LOOPBACK, free_port
from tools.harness.wait import eventually

ADMIN = Caller(actor="slack:UADMIN", actor_name="alice", source="test")


@dataclass
class Slots:
    """Fixed addresses for N instances: what DEPLOY_INSTANCES says and Prometheus scrapes."""

    grpc: list[int]
    metrics: list[int]

    @classmethod
    def free(cls, n: int = 2) -> Slots:
        return cls([free_port() for _ in range(n)], [free_port() for _ in range(n)])

    @property
    def setting(self) -> str:
        return ",".join(
            f"{LOOPBACK}:{g}/{LOOPBACK}:{m}" for g, m in zip(self.grpc, self.metrics, strict=True)
        )

    @property
    def targets(self) -> list[str]:
        return [f"{LOOPBACK}:{m}" for m in self.metrics]

    @property
    def addresses(self) -> str:
        return ",".join(f"{LOOPBACK}:{g}" for g in self.grpc)

    def versions(self) -> list[str]:
        """What each instance reports on its own /metrics right now ("" when nothing answers)."""
        out = []
        for target in self.targets:
            try:
                with urllib.request.urlopen(f"http://{target}/metrics", timeout=2) as resp:
                    out.append(build_info_version(resp.read().decode()))
            except OSError:
                out.append("")
        return out


class Deployer:
    """`python -m deployer` owning `slots`; restartable on the same settings (and state directory)."""

    def __init__(
        self, workdir: Path, bus: components.Bus, prometheus_url: str, slots: Slots, **env: str
    ) -> None:
        self.service = components.deployer(workdir, bus, prometheus_url, slots.setting, **env)

    @property
    def state_dir(self) -> Path:
        return Path(self.service.env["DEPLOY_STATE_DIR"])

    def start(self) -> Deployer:
        self.service.start(timeout=90)
        return self

    def stop(self) -> None:
        self.service.stop()
        self.kill_instances()

    def kill(self) -> None:
        """SIGKILL the deployer alone: its instances keep running, as after a crash."""
        self.service.kill()

    def kill_instances(self) -> None:
        """Whatever instance a test left behind (their pids are in the state directory)."""
        for record in self.state_dir.glob("*.json"):
            with contextlib.suppress(OSError, ValueError, ProcessLookupError, PermissionError):
                os.killpg(int(json.loads(record.read_text())["pid"]), signal.SIGKILL)


class Load:
    """The demo load on every instance (round robin), in this test's event loop, until stopped."""

    def __init__(self, addresses: str, rate: float = 20.0) -> None:
        self.addresses, self.rate = addresses, rate
        self.stop = asyncio.Event()
        self.task: asyncio.Task[object] | None = None

    async def __aenter__(self) -> Load:
        async def go() -> object:
            async with PetstoreClient(self.addresses, timeout=2) as client:
                return await run_demo(client, DemoConfig(rate=self.rate, seed=7), self.stop)

        self.task = asyncio.create_task(go())
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.stop.set()
        if self.task is not None:
            await asyncio.wait({self.task}, timeout=10)


class Steps:
    """Every deploy event as it is published (a plain subscription: what any tool would see)."""

    def __init__(self) -> None:
        self.events: list[pb.DeployEvent] = []

    async def watch(self, nc: Client) -> Steps:
        async def got(msg: Msg) -> None:
            self.events.append(pb.DeployEvent.FromString(msg.data))

        await nc.subscribe(f"{DEPLOYS_PREFIX}.>", cb=got)
        return self

    def of(self, deploy_id: str) -> list[str]:
        return [step_token(e.step) for e in self.events if e.deploy_id == deploy_id]

    def last(self, deploy_id: str) -> pb.DeployEvent | None:
        found = [e for e in self.events if e.deploy_id == deploy_id]
        return found[-1] if found else None

    async def until(self, deploy_id: str, step: str, timeout: float = 60.0) -> pb.DeployEvent:
        def seen() -> pb.DeployEvent | None:
            return next(
                (e for e in self.events if e.deploy_id == deploy_id and step_token(e.step) == step), None
            )

        found: pb.DeployEvent = await eventually(
            seen, timeout=timeout, what=f"{step} of {deploy_id} (saw {self.of(deploy_id)})"
        )
        return found


async def ask(nc: Client, name: str, request: object, caller: Caller = ADMIN) -> object:
    """A command on the bus, the way any tool sends it; raises CommandError on an error reply."""
    return await call(nc, command(name), request, caller, timeout=15)  # type: ignore[arg-type]


async def start(nc: Client, version: str, caller: Caller = ADMIN) -> pb.DeployEvent:
    reply = await ask(nc, "deploys.start", pb.StartDeployRequest(service="petstore", version=version), caller)
    assert isinstance(reply, pb.StartDeployReply)
    return reply.deploy
