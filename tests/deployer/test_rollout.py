"""The deploy agent against real NATS, Prometheus and petstore processes: what a crash cannot break.

The everyday paths (promote, roll back on errors, refusals) run through chat in
tests/gateway/test_deploys.py; this module kills things: the canary, and the deployer itself.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from nats.aio.client import Client

from chatops.bus import settle
from chatops.v1 import deploys_pb2 as pb
from tools.harness.deploys import Deployer, Load, Slots, Steps, ask, start
from tools.harness.servers import NatsServer, Prometheus
from tools.harness.wait import eventually

pytestmark = pytest.mark.slow


class World:
    """NATS, Prometheus scraping two instance slots, and a deployer that owns them."""

    def __init__(self, root: Path) -> None:
        self.slots = Slots.free(2)
        self.nats = NatsServer(root / "nats", identities=True).start()
        self.prometheus = Prometheus(root / "prom", scrape_targets={"petstore": self.slots.targets}).start()
        self.deployer = Deployer(
            root / "deployer",
            self.nats,
            self.prometheus.url,
            self.slots,
            CHATOPS_ADMINS="slack:UADMIN",
        )

    def pid(self, instance: str) -> int:
        """The pid the deployer recorded for `instance`; 0 while it has none (between stop and start)."""
        try:
            return int(json.loads((self.deployer.state_dir / f"{instance}.json").read_text())["pid"])
        except (OSError, ValueError, KeyError):
            return 0

    def stop(self) -> None:
        self.deployer.stop()
        self.prometheus.stop()
        self.nats.stop()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    w = World(tmp_path_factory.mktemp("rollout"))
    try:
        w.deployer.start()
        yield w
    finally:
        w.stop()


@pytest.fixture
async def bus(world: World) -> AsyncIterator[tuple[Client, Steps]]:
    nc = await world.nats.connect("gateway")  # it speaks for slack:UADMIN, as the gateway does
    tool = await world.nats.connect("tools")  # deploy events live, as any read-only tool sees them
    steps = await Steps().watch(tool)
    await settle(tool)
    try:
        yield nc, steps
    finally:
        await tool.close()
        await nc.close()


async def projected(nc: Client) -> list[str]:
    """Each instance's version as the deploy events have it (release status reads the projection)."""
    reply = await ask(nc, "deploys.status", pb.ReleaseStatusRequest(ref="0.1.0"))
    assert isinstance(reply, pb.ReleaseStatusReply)
    return [i.version for i in reply.instances]


async def test_the_first_start_installs_the_first_release_and_says_so(
    world: World, bus: tuple[Client, Steps]
) -> None:
    nc, _ = bus
    assert world.slots.versions() == ["0.1.0", "0.1.0"]
    assert await projected(nc) == ["0.1.0", "0.1.0"]
    reply = await ask(nc, "deploys.list", pb.ListDeploysRequest())
    assert isinstance(reply, pb.ListDeploysReply)
    (install,) = reply.deploys
    assert install.kind == pb.DEPLOY_KIND_INSTALL and install.step == pb.DEPLOY_STEP_PROMOTED
    assert install.actor == "deployer:test-host" and install.to_version == "0.1.0"


async def test_a_canary_that_dies_while_watched_is_rolled_back(
    world: World, bus: tuple[Client, Steps]
) -> None:
    nc, steps = bus
    async with Load(world.slots.addresses):
        deploy = await start(nc, "0.2.0")
        await steps.until(deploy.deploy_id, "canary_healthy")
        os.killpg(world.pid("petstore-1"), signal.SIGKILL)
        done = await steps.until(deploy.deploy_id, "rolled_back")
    assert "health check" in done.reason and "back on 0.1.0" in done.reason, done.reason
    assert world.slots.versions() == ["0.1.0", "0.1.0"] == await projected(nc)


async def test_killed_while_watching_the_canary_it_finishes_the_deploy_from_the_events(
    world: World, bus: tuple[Client, Steps]
) -> None:
    nc, steps = bus
    async with Load(world.slots.addresses):
        deploy = await start(nc, "0.2.0")
        await steps.until(deploy.deploy_id, "canary_healthy")
        world.deployer.kill()
        canary = world.pid("petstore-1")
        assert world.slots.versions() == ["0.2.0", "0.1.0"]  # the instances outlive the deployer
        world.deployer.start()
        done = await steps.until(deploy.deploy_id, "promoted", timeout=90)
    assert steps.of(deploy.deploy_id) == [
        "requested",
        "started",
        "canary_healthy",
        "canary_healthy",
        "promoted",
    ]
    assert "restarted while watching the canary" in steps.events[-2].reason
    assert world.pid("petstore-1") == canary  # adopted, not restarted
    assert [i.version for i in done.instances] == ["0.2.0", "0.2.0"]
    assert world.slots.versions() == ["0.2.0", "0.2.0"] == await projected(nc)


async def test_killed_while_switching_the_canary_it_rolls_back_from_the_events(
    world: World, bus: tuple[Client, Steps]
) -> None:
    nc, steps = bus
    deploy = await start(nc, "0.1.0")
    await steps.until(deploy.deploy_id, "started")
    world.deployer.kill()
    assert steps.of(deploy.deploy_id) == ["requested", "started"]  # killed before the canary was proven
    world.deployer.start()
    done = await steps.until(deploy.deploy_id, "rolled_back", timeout=90)
    assert "restarted at step started" in done.reason and "back on 0.2.0" in done.reason, done.reason
    assert world.slots.versions() == ["0.2.0", "0.2.0"] == await projected(nc)


async def test_a_restart_between_deploys_adopts_the_instances_as_they_run(
    world: World, bus: tuple[Client, Steps]
) -> None:
    nc, steps = bus
    pids = [world.pid("petstore-1"), world.pid("petstore-2")]
    world.deployer.kill()
    world.deployer.start()
    assert [world.pid("petstore-1"), world.pid("petstore-2")] == pids
    assert world.slots.versions() == ["0.2.0", "0.2.0"] == await projected(nc)
    assert steps.events == []  # nothing to record: the fleet is what the events say


async def test_an_instance_that_dies_between_deploys_is_started_again_at_its_version(
    world: World, bus: tuple[Client, Steps]
) -> None:
    nc, steps = bus
    dead = world.pid("petstore-2")
    os.killpg(dead, signal.SIGKILL)

    async def restarted() -> bool:
        return world.pid("petstore-2") not in (0, dead) and world.slots.versions()[1] == "0.2.0"

    await eventually(restarted, what="petstore-2 running again", timeout=60)
    assert world.slots.versions() == ["0.2.0", "0.2.0"] == await projected(nc)
    assert steps.events == []  # the fleet is back to what the events say: nothing new to record
