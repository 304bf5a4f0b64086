"""Fixtures for the Ops service: settings on free loopback ports, and ops running in-process."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from google.protobuf.message import Message
from nats.aio.client import Client
from nats.aio.msg import Msg

from chatops import codec
from chatops.contract import command
from ops.app import Running, running
from ops.settings import OpsSettings
from tools.harness.components import ops_env
from tools.harness.servers import NatsServer

ADMIN = "UTEST"  # the default actor of `ask` below, so commands that change things are allowed


def ops_settings(tmp_path: Path, bus: NatsServer, **overrides: Any) -> OpsSettings:
    """Settings with every listener on a free loopback port and every backend unreachable by default;
    ops connects as its identity on `bus`."""
    values: dict[str, Any] = {
        **ops_env(tmp_path, bus),
        "OPS_BACKEND_TIMEOUT": 3.0,
        "CHATOPS_ADMINS": (ADMIN,),
        **overrides,
    }
    return OpsSettings(**values)


@dataclass
class OpsUnderTest:
    """A running in-process ops and its settings."""

    settings: OpsSettings
    running: Running


StartOps = Callable[..., Any]


@pytest.fixture
def nats_server(secure_nats: NatsServer) -> NatsServer:
    """Ops is tested on a bus with identities: only then does it know who sends a command."""
    return secure_nats


@pytest.fixture
async def nc(secure_nats: NatsServer) -> AsyncIterator[Client]:
    """The gateway's identity: it may speak for `slack:` actors, as `ask` below does."""
    async with secure_nats.connected("gateway") as client:
        yield client


@pytest.fixture
async def tools(secure_nats: NatsServer) -> AsyncIterator[Client]:
    """The read-only tool identity."""
    async with secure_nats.connected("tools") as client:
        yield client


@pytest.fixture
async def admin(secure_nats: NatsServer) -> AsyncIterator[Client]:
    """The provisioner: may look at the streams (never purge them)."""
    async with secure_nats.connected("provisioner") as client:
        yield client


@pytest.fixture
async def start_ops(tmp_path: Path, nats_server: NatsServer) -> AsyncIterator[StartOps]:
    """`await start_ops(**settings)` starts ops in-process; everything started is stopped after the test."""
    stacks: list[Any] = []

    async def start(**overrides: Any) -> OpsUnderTest:
        settings = ops_settings(tmp_path / f"ops{len(stacks)}", nats_server, **overrides)
        cm = running(settings)
        ops = await cm.__aenter__()
        stacks.append(cm)
        return OpsUnderTest(settings, ops)

    try:
        yield start
    finally:
        for cm in reversed(stacks):
            await cm.__aexit__(None, None, None)


@pytest.fixture
async def ops(start_ops: StartOps) -> OpsUnderTest:
    """Ops with the local trace store and no other backend reachable."""
    started: OpsUnderTest = await start_ops()
    return started


async def ask(
    nc: Client,
    name: str,
    request: Message,
    *,
    as_json: bool = False,
    headers: dict[str, str] | None = None,
    timeout: float = 30.0,
) -> Msg:
    """Send one command the way any client would, and return the raw reply message."""
    hdrs = dict(headers or {"Chatops-Actor": f"slack:{ADMIN}", "Chatops-Request-Id": "req-test"})
    if as_json:
        hdrs["Content-Type"] = "application/json"
    return await nc.request(
        command(name).subject, codec.encode(request, as_json=as_json), timeout=timeout, headers=hdrs
    )


def error_of(msg: Msg) -> tuple[int, str]:
    """(code, text) of a micro error reply; (0, "") when the reply is not an error."""
    headers = msg.headers or {}
    if "Nats-Service-Error-Code" not in headers:
        return 0, ""
    return int(headers["Nats-Service-Error-Code"]), headers.get("Nats-Service-Error", "")


def reply_of(msg: Msg, name: str, *, as_json: bool = False) -> Any:
    """Decode a successful reply; fails the test with the error text otherwise."""
    code, text = error_of(msg)
    assert code == 0, f"{name} failed with {code}: {text}"
    return codec.decode(msg.data, command(name).reply, as_json=as_json)
