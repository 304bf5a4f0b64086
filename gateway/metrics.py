"""The gateway's own Prometheus metrics (served with /healthz by chatops.health)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

PENDING = "chatops_gateway_alerts_pending"
OLDEST_PENDING = "chatops_gateway_alerts_oldest_pending_seconds"
STALLED = "chatops_gateway_alerts_stalled"


class BacklogGauges(Collector):
    """The alert consumer's backlog as last read; nothing is exported once that reading is stale."""

    def __init__(self, registry: CollectorRegistry, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._pending = 0
        self._oldest: float | None = None
        self._valid_until = 0.0
        registry.register(self)

    def update(self, pending: int, oldest: float | None, *, valid_for: float) -> None:
        """`oldest`: when (unix time) the oldest message not yet acked was stored; None if none is."""
        self._pending, self._oldest = pending, oldest
        self._valid_until = self._clock() + valid_for

    def collect(self) -> Iterator[Metric]:
        now = self._clock()
        if now > self._valid_until:
            return  # unknown (the bus does not answer) is not the same as "nothing pending"
        yield GaugeMetricFamily(
            PENDING,
            "Alert notifications stored in CHATOPS_ALERTS and not yet delivered to chat (acked)",
            value=self._pending,
        )
        age = max(0.0, now - self._oldest) if self._oldest is not None else 0.0
        yield GaugeMetricFamily(
            OLDEST_PENDING, "How long the oldest undelivered alert notification has waited", value=age
        )

    def describe(self) -> Iterator[Metric]:
        return iter(())


class StallGauge(Collector):
    """chatops_gateway_alerts_stalled: 1 for each channel (or "*", the token) Slack refuses alert
    posts for until someone fixes it, labelled with Slack's error."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._source: Callable[[], Iterable[Any]] = lambda: ()
        registry.register(self)

    def follow(self, source: Callable[[], Iterable[Any]]) -> None:
        """`source()` gives the stalls in force: objects with `scope` and `error`."""
        self._source = source

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            STALLED,
            '1 per channel (scope "*": the token) where Slack refuses alert posts until someone fixes it',
            labels=["scope", "error"],
        )
        for stall in self._source():
            family.add_metric([stall.scope, stall.error], 1.0)
        yield family

    def describe(self) -> Iterator[Metric]:
        return iter(())


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
        self.recovered = Counter(
            "chatops_gateway_recovered_messages",
            "Chat messages taken over from a gateway that stopped before answering them, by outcome: "
            "answered, failed (left to the next sweep), given_up",
            ["outcome"],
            registry=reg,
        )
        self.journal_errors = Counter(
            "chatops_gateway_journal_errors",
            "Chat messages answered without a journal entry, as the journal bucket could not be written",
            registry=reg,
        )
        self.clicks = Counter(
            "chatops_gateway_button_clicks", "Confirm/Cancel clicks, by result", ["result"], registry=reg
        )
        self.slack_errors = Counter(
            "chatops_gateway_slack_errors",
            "Slack Web API calls that failed after the client's own retries, by method and error",
            ["method", "error"],
            registry=reg,
        )
        self.alert_backlog = BacklogGauges(reg)
        self.alert_stalls = StallGauge(reg)
        self.alerts_dead_lettered = Counter(
            "chatops_gateway_alerts_dead_lettered",
            "Alert notifications given up on and put on CHATOPS_DEADLETTER, by cause",
            ["error"],
            registry=reg,
        )
        self.alerts_plain = Counter(
            "chatops_gateway_alerts_plain_text",
            "Alert messages Slack refused for their content and that went as plain text, by Slack's error",
            ["error"],
            registry=reg,
        )

        self.card_refreshes = Counter(
            "chatops_gateway_card_refreshes",
            "Alert cards shown again for a card event, by outcome: updated, same (already shown so), gone",
            ["outcome"],
            registry=reg,
        )
        self.card_notes = Counter(
            "chatops_gateway_card_notes",
            "Thread notes of alert cards, by kind (reannounce, expiring, ended, resolved) and outcome",
            ["kind", "outcome"],
            registry=reg,
        )

    def slack_failed(self, method: str, error: str) -> None:
        self.slack_errors.labels(method, error).inc()
