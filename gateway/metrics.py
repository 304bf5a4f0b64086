"""The gateway's own Prometheus metrics, and the /metrics + /healthz HTTP endpoint."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST


class GatewayMetrics:
    """Counters and a histogram in their own registry (so tests can build several)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = reg = registry or CollectorRegistry()
        self.commands = Counter(
            "chatops_gateway_commands",
            "Chat messages handled, by command and outcome",
            ["command", "outcome"],
            registry=reg,
        )
        self.latency = Histogram(
            "chatops_gateway_command_seconds",
            "From the message arriving to the reply posted",
            ["command"],
            registry=reg,
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 1.5, 2.5, 5, 10, 30),
        )
        self.duplicates = Counter(
            "chatops_gateway_duplicate_events", "Slack events skipped as already answered", registry=reg
        )
        self.clicks = Counter(
            "chatops_gateway_button_clicks", "Confirm/Cancel clicks, by result", ["result"], registry=reg
        )


def metrics_app(metrics: GatewayMetrics, healthy: Callable[[], bool]) -> web.Application:
    """GET /metrics (Prometheus text) and GET /healthz (200 when connected to NATS, else 503)."""

    async def get_metrics(_: web.Request) -> web.Response:
        body = generate_latest(metrics.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def get_health(_: web.Request) -> web.Response:
        ok = healthy()
        return web.json_response({"ok": ok}, status=200 if ok else 503)

    app = web.Application()
    app.router.add_get("/metrics", get_metrics)
    app.router.add_get("/healthz", get_health)
    return app
