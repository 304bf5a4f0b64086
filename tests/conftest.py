"""Fixtures shared by every test: real servers on free loopback ports, stopped after."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from nats.aio.client import Client

from slackemu.client import EmulatorControl
from tools.harness.petstore import Petstore
from tools.harness.servers import NatsServer, Parts, running
from tools.harness.slackemu import SlackEmulator

FIXTURES = Path(__file__).parent / "fixtures"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Modules of slow tests first, for `make test` (`pytest -n N --dist loadscope`); harmless without it.

    Each module runs on one worker, so its shared servers start once; a worker takes a long module
    while the others share out the short ones, instead of one long module running alone at the end.
    """
    slow = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow)  # stable: each module keeps its own order


@pytest.fixture
def parts() -> Iterator[Parts]:
    """Keep what a test starts with `parts(x.start())` or `parts.up(x)`; stopped last first after it."""
    kept = Parts()
    try:
        yield kept
    finally:
        kept.stop()


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    """A fresh nats-server with JetStream for one test."""
    with running(NatsServer(tmp_path / "nats")) as server:
        yield server


@pytest.fixture
def secure_nats(tmp_path: Path) -> Iterator[NatsServer]:
    """A fresh nats-server with identities on (the access table), its streams provisioned."""
    with running(NatsServer(tmp_path / "nats", identities=True)) as server:
        yield server


@pytest.fixture
async def nc(nats_server: NatsServer) -> AsyncIterator[Client]:
    """A client connected to this test's nats-server."""
    async with nats_server.connected("test") as client:
        yield client


@pytest.fixture
def petstore(tmp_path: Path) -> Iterator[Petstore]:
    """A running petstore for one test (sampler float:0.1, version 1.0.0, no span export)."""
    with running(Petstore(tmp_path / "petstore")) as server:
        yield server


@pytest.fixture
def slack_emulator(tmp_path: Path) -> Iterator[SlackEmulator]:
    """A fresh Slack emulator (Socket Mode, default workspace) for one test, stopped after."""
    with running(SlackEmulator(tmp_path / "slackemu")) as emulator:
        yield emulator


@pytest.fixture
async def slack_control(slack_emulator: SlackEmulator) -> AsyncIterator[EmulatorControl]:
    """A control client for `slack_emulator`, its state (bot_user_id) already loaded."""
    async with slack_emulator.control() as control:
        await control.state()
        yield control
