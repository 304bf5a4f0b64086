"""`settle`: when it returns, the server has every subscription made before, as seen on the wire."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from chatops.bus import connect, settle
from chatops.settings import BusSettings
from tools.harness.ports import LOOPBACK
from tools.harness.servers import NatsServer


class Tap:
    """A TCP relay in front of nats-server that keeps what the client sent, in order."""

    def __init__(self, upstream: int) -> None:
        self.upstream = upstream
        self.sent = bytearray()
        self.port = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._relay, LOOPBACK, 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _relay(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        server_r, server_w = await asyncio.open_connection(LOOPBACK, self.upstream)

        async def pipe(r: asyncio.StreamReader, w: asyncio.StreamWriter, keep: bool) -> None:
            while data := await r.read(65536):
                if keep:
                    self.sent += data
                w.write(data)
                await w.drain()
            w.close()

        await asyncio.gather(pipe(client_r, server_w, True), pipe(server_r, client_w, False))

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()


@pytest.fixture
async def tap(nats_server: NatsServer) -> AsyncIterator[Tap]:
    relay = Tap(nats_server.port)
    await relay.start()
    try:
        yield relay
    finally:
        await relay.stop()


async def test_settle_returns_after_the_server_answered_a_ping_sent_behind_the_subscriptions(
    tap: Tap,
) -> None:
    nc = await connect(BusSettings(NATS_URL=f"nats://{LOOPBACK}:{tap.port}"), "test-settle")
    try:
        start = len(tap.sent)
        for i in range(20):
            await nc.subscribe(f"settle.{i}", queue="q")
        await settle(nc)
        wire = bytes(tap.sent[start:])
        # The server answers PINGs in order: the PONG settle waited for last answers the last PING.
        last_ping = wire.rindex(b"PING\r\n")
        assert wire.count(b"SUB settle.") == 20
        assert wire.rindex(b"SUB settle.19 q") < last_ping
    finally:
        await nc.close()
