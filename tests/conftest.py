"""Fixtures shared by every test: real servers on free loopback ports, stopped after."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from nats.aio.client import Client

from tests.harness.servers import NatsServer

FIXTURES = Path(__file__).parent / "fixtures"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Modules of slow tests first, for `make test` (`pytest -n N --dist loadscope`); harmless without it.

    Each module runs on one worker, so its shared servers start once; a worker takes a long module
    while the others share out the short ones, instead of one long module running alone at the end.
    """
    slow = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow)  # stable: each module keeps its own order


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    """A fresh nats-server with JetStream for one test."""
    server = NatsServer(tmp_path / "nats").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def secure_nats(tmp_path: Path) -> Iterator[NatsServer]:
    """A fresh nats-server with identities on (the access table), its streams provisioned."""
    server = NatsServer(tmp_path / "nats", identities=True).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def nc(nats_server: NatsServer) -> AsyncIterator[Client]:
    """A client connected to this test's nats-server."""
    client = await nats_server.connect("test")
    try:
        yield client
    finally:
        await client.close()
