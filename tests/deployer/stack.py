"""The deploy agent as a subprocess beside real NATS and Prometheus, and a load on its instances."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from nats.aio.client import Client

from chatops import codec
from chatops.bus import Caller, call
from chatops.contract import command
from chatops.subjects import DEPLOYS_PREFIX
from chatops.v1 import deploys_pb2 as pb
from deployer.instances import build_info_version
from petstore.client import PetstoreClient
from petstore.demo import DemoConfig, run_demo
from tests.harness.petstore import EnvProc
from tests.harness.servers import LOOPBACK, NatsServer, env_with, free_port, wait_http

ROOT = Path(__file__).resolve().parents[2]
RELEASES = ROOT / "releases.yaml"
T = TypeVar("T")


async def eventually(probe: Callable[[], Awaitable[T | None]], what: str, timeout: float = 60.0) -> T:
    """Poll `probe` until it returns something truthy; fail naming `what` and the last value."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last: T | None = None
    while loop.time() < deadline:
        last = await probe()
        if last:
            return last
        await asyncio.sleep(0.2)
    raise AssertionError(f"{what}: not within {timeout}s (last: {last!r})")


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


@dataclass
class DeployerProc:
    """`python -m deployer`, restartable on the same settings (and so the same state directory)."""

    workdir: Path
    env: dict[str, str]
    metrics_port: int
    proc: EnvProc = field(init=False)

    def __post_init__(self) -> None:
        self.proc = EnvProc([sys.executable, "-m", "deployer"], self.workdir, "deployer", env=self.env)

    @property
    def state_dir(self) -> Path:
        return Path(self.env["DEPLOY_STATE_DIR"])

    def start(self) -> DeployerProc:
        self.proc.start()
        try:
            wait_http(f"http://{LOOPBACK}:{self.metrics_port}/healthz", proc=self.proc.proc, timeout=90)
        except (TimeoutError, RuntimeError) as exc:
            raise RuntimeError(f"the deployer did not start: {exc}\n{self.proc.log_tail()}") from None
        return self

    def stop(self) -> None:
        self.proc.stop()
        self.kill_instances()

    def kill(self) -> None:
        """SIGKILL the deployer alone: its instances keep running, as after a crash."""
        assert self.proc.proc is not None
        self.proc.proc.send_signal(signal.SIGKILL)
        self.proc.proc.wait(10)

    def kill_instances(self) -> None:
        """Whatever instance a test left behind (their pids are in the state directory)."""
        for record in self.state_dir.glob("*.json"):
            with contextlib.suppress(OSError, ValueError, ProcessLookupError, PermissionError):
                os.killpg(int(json.loads(record.read_text())["pid"]), signal.SIGKILL)


def deployer_env(
    workdir: Path, bus: NatsServer, prometheus_url: str, slots: Slots, admins: str, **extra: str
) -> tuple[dict[str, str], int]:
    """The deployer's environment with short windows for tests (connecting as its identity on `bus`),
    and its metrics port."""
    metrics = free_port()
    values = {
        **bus.env("deployer"),
        "PROMETHEUS_URL": prometheus_url,
        "DEPLOY_RELEASES": str(RELEASES),
        "DEPLOY_INSTANCES": slots.setting,
        "DEPLOY_STATE_DIR": str(workdir / "state"),
        "DEPLOY_SETTLE_SECONDS": "4",
        "DEPLOY_CHECK_INTERVAL": "0.3",
        "DEPLOY_MIN_CALLS": "5",
        "DEPLOY_LOCK_TTL": "2",
        "DEPLOY_AGENT": "test-host",
        "DEPLOYER_METRICS_LISTEN": f"{LOOPBACK}:{metrics}",
        "CHATOPS_ADMINS": admins,
        "PETSTORE_SAMPLER": "never",
        "OTEL_TRACES_EXPORTER": "none",
        "OTEL_EXPORTER_OTLP_ENDPOINT": "",
        "LOG_LEVEL": "INFO",
        "PYTHONPATH": str(ROOT),
        **extra,
    }
    return env_with(**values), metrics


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
        async def got(msg: object) -> None:
            self.events.append(pb.DeployEvent.FromString(msg.data))  # type: ignore[attr-defined]

        await nc.subscribe(f"{DEPLOYS_PREFIX}.>", cb=got)
        return self

    def of(self, deploy_id: str) -> list[str]:
        from deployer.events import step_token

        return [step_token(e.step) for e in self.events if e.deploy_id == deploy_id]

    def last(self, deploy_id: str) -> pb.DeployEvent | None:
        found = [e for e in self.events if e.deploy_id == deploy_id]
        return found[-1] if found else None

    async def until(self, deploy_id: str, step: str, timeout: float = 60.0) -> pb.DeployEvent:
        async def seen() -> pb.DeployEvent | None:
            from deployer.events import step_token

            return next(
                (e for e in self.events if e.deploy_id == deploy_id and step_token(e.step) == step), None
            )

        return await eventually(seen, f"{step} of {deploy_id} (saw {self.of(deploy_id)})", timeout)


ADMIN = Caller(actor="slack:UADMIN", actor_name="alice", source="test")


async def ask(nc: Client, name: str, request: object, caller: Caller = ADMIN) -> object:
    """A command on the bus, the way any tool sends it; raises CommandError on an error reply."""
    return await call(nc, command(name), request, caller, timeout=15)  # type: ignore[arg-type]


async def start(nc: Client, version: str, caller: Caller = ADMIN) -> pb.DeployEvent:
    reply = await ask(nc, "deploys.start", pb.StartDeployRequest(service="petstore", version=version), caller)
    assert isinstance(reply, pb.StartDeployReply)
    return reply.deploy


__all__ = ["codec"]
