"""The gateway's own Prometheus metrics (served with /healthz by chatops.health)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram


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
