"""What a release changes in a petstore: its build info, a demo regression, and clients of several."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import date

import grpc
import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client.exposition import generate_latest

from petstore.client import PetstoreClient, channel_target
from petstore.fault import Fault, InjectedFault
from petstore.model import Pet, PetKind
from petstore.sampler import SamplerSpec
from petstore.server import RunningServer, ServerConfig, start

REX = Pet("Rex", PetKind.CANINE, date(2019, 4, 1))


@given(st.floats(min_value=0.0, max_value=1.0), st.integers(min_value=1, max_value=400))
def test_a_fault_fails_its_share_of_calls_evenly(ratio: float, calls: int) -> None:
    fault = Fault(ratio)
    failed = 0
    for _ in range(calls):
        try:
            fault.check()
        except InjectedFault:
            failed += 1
    assert abs(failed - ratio * calls) <= 1


def test_a_fault_ratio_outside_zero_to_one_is_refused() -> None:
    with pytest.raises(ValueError, match="fault ratio"):
        Fault(1.5)


@pytest.fixture
async def servers() -> AsyncIterator[tuple[RunningServer, RunningServer]]:
    """Two petstores in this process: 0.2.0 healthy, 0.3.0 with half its pet calls failing."""
    async with AsyncExitStack() as stack:
        good = await start(
            stack, ServerConfig("127.0.0.1:0", None, "0.2.0", SamplerSpec("never"), commit="abc123"), []
        )
        bad = await start(
            stack,
            ServerConfig(
                "127.0.0.1:0", None, "0.3.0", SamplerSpec("never"), commit="def456", fault_ratio=0.5
            ),
            [],
        )
        yield good, bad


async def test_build_info_carries_version_and_commit(servers: tuple[RunningServer, RunningServer]) -> None:
    good, _ = servers
    text = generate_latest(good.metrics.registry).decode()
    assert 'petstore_build_info{commit="abc123",version="0.2.0"} 1.0' in text


async def test_the_demo_regression_fails_pet_calls_with_internal(
    servers: tuple[RunningServer, RunningServer],
) -> None:
    _, bad = servers
    codes = []
    async with PetstoreClient(f"127.0.0.1:{bad.grpc_port}") as client:
        for _ in range(4):
            try:
                await client.add([REX])
                codes.append("OK")
            except grpc.aio.AioRpcError as exc:
                codes.append(exc.code().name)
                assert "demo regression" in (exc.details() or "")
        await client.get_sampler()  # the sampler is not part of the regression
    assert sorted(codes) == ["INTERNAL", "INTERNAL", "OK", "OK"]
    text = generate_latest(bad.metrics.registry).decode()
    assert 'petstore_requests_total{code="INTERNAL",method="AddPets"} 2.0' in text


async def test_a_client_of_several_addresses_spreads_calls_over_them(
    servers: tuple[RunningServer, RunningServer],
) -> None:
    good, bad = servers
    addr = f"127.0.0.1:{good.grpc_port},127.0.0.1:{bad.grpc_port}"
    async with PetstoreClient(addr) as client:
        for _ in range(20):
            await client.get_sampler()
    counts = [
        sum(
            s.value
            for m in server.metrics.registry.collect()
            if m.name == "petstore_requests"
            for s in m.samples
            if s.name == "petstore_requests_total" and s.labels["method"] == "GetSampler"
        )
        for server in (good, bad)
    ]
    # Round robin over the ready ones: the first calls may all go to whichever connected first.
    assert sum(counts) == 20 and min(counts) >= 5, counts


def test_channel_targets() -> None:
    assert channel_target("127.0.0.1:6742")[0] == "127.0.0.1:6742"
    target, options = channel_target("127.0.0.1:6742, 127.0.0.1:6743")
    assert target == "ipv4:127.0.0.1:6742,127.0.0.1:6743"
    assert ("grpc.lb_policy_name", "round_robin") in options
