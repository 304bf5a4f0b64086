"""The `/metrics` and `/healthz` endpoints every component serves, and serving an app on host:port."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable

from aiohttp import web
from prometheus_client import CollectorRegistry, Gauge
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest

# The classic text format, which every Prometheus release still in use (2.42 here) parses.
METRICS_CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4

Problem = Callable[[], str]

# Every component on the bus exports it. nats-server's own monitoring endpoint does not speak the
# Prometheus format, so "is NATS up?" is answered by the processes that depend on it.
BUS_CONNECTED = "chatops_bus_connected"


class ListenError(OSError):
    """A port could not be bound; the text says which address, what for, and why, on one line."""


def add_health_routes(
    app: web.Application, registry: CollectorRegistry, problem: Problem | None = None
) -> None:
    """Add `GET /metrics` (the registry as Prometheus text) and `GET /healthz` (200 "ok" or 503 problem)."""

    async def scrape(_: web.Request) -> web.Response:
        return web.Response(body=generate_latest(registry), headers={"Content-Type": METRICS_CONTENT_TYPE})

    async def healthz(_: web.Request) -> web.Response:
        trouble = problem() if problem is not None else ""
        if trouble:
            return web.Response(status=503, text=trouble + "\n")
        return web.Response(text="ok\n")

    app.router.add_get("/metrics", scrape)
    app.router.add_get("/healthz", healthz)


def bus_gauge(registry: CollectorRegistry, connected: Callable[[], bool]) -> None:
    """Export `chatops_bus_connected`: 1 while `connected()` says the NATS connection is up, else 0."""
    gauge = Gauge(BUS_CONNECTED, "1 while this process is connected to NATS, else 0", registry=registry)
    gauge.set_function(lambda: 1.0 if connected() else 0.0)


def metrics_app(registry: CollectorRegistry, problem: Problem | None = None) -> web.Application:
    """An application serving only `/metrics` and `/healthz` (see `add_health_routes`)."""
    app = web.Application()
    add_health_routes(app, registry, problem)
    return app


def split_listen(listen: str) -> tuple[str, int]:
    """`host:port` (or `[v6]:port`) as the host aiohttp binds and the port number."""
    host, _, port = listen.rpartition(":")
    return host.strip("[]"), int(port)


@contextlib.asynccontextmanager
async def serving(
    app: web.Application,
    listen: str,
    *,
    purpose: str = "HTTP",
    shutdown_timeout: float = 60.0,
    reuse_port: bool = False,
) -> AsyncIterator[int]:
    """Serve `app` on `listen` (port 0 picks one) and yield the bound port; ListenError if it is taken.

    `reuse_port`: other processes of this user may listen on the same port (SO_REUSEPORT), and the
    kernel hands each new connection to one of them: replicas on one host share an address.
    """
    host, port = split_listen(listen)
    # No access log: scrapes and health probes every few seconds would drown the real events.
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=shutdown_timeout)
    await runner.setup()
    try:
        try:
            await web.TCPSite(runner, host, port, reuse_port=reuse_port or None).start()
        except OSError as exc:
            raise ListenError(f"cannot listen for {purpose} on {listen}: {exc.strerror or exc}") from None
        yield runner.addresses[0][1]
    finally:
        await runner.cleanup()
