"""An in-process petstore on loopback ports whose spans land in memory, for tests that read spans."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from petstore.client import PetstoreClient
from petstore.sampler import SamplerSpec
from petstore.server import RunningServer, ServerConfig, start

SERVICE_SPAN = "/petstore.v1.PetStore/"


@dataclass
class Live:
    """A running in-process petstore, its span exporter and a client."""

    server: RunningServer
    spans: InMemorySpanExporter
    client: PetstoreClient
    addr: str

    def rpc_spans(self, method: str | None = None) -> list[ReadableSpan]:
        """The server spans finished so far, optionally only one method's."""
        prefix = SERVICE_SPAN + (method or "")
        return [s for s in self.spans.get_finished_spans() if s.name.startswith(prefix)]


async def _live(sampler: SamplerSpec) -> AsyncIterator[Live]:
    exporter = InMemorySpanExporter()
    config = ServerConfig("127.0.0.1:0", "127.0.0.1:0", "9.9.9", sampler)
    async with AsyncExitStack() as stack:
        server = await start(stack, config, [SimpleSpanProcessor(exporter)])
        addr = f"127.0.0.1:{server.grpc_port}"
        client = PetstoreClient(addr)
        stack.push_async_callback(client.close)
        yield Live(server, exporter, client, addr)


@pytest.fixture
async def live() -> AsyncIterator[Live]:
    """Sampler `always`, so every span is exported."""
    async for item in _live(SamplerSpec("always")):
        yield item


@pytest.fixture
async def live_never() -> AsyncIterator[Live]:
    """Sampler `never`: only forced or parent-sampled calls are exported."""
    async for item in _live(SamplerSpec("never")):
        yield item
