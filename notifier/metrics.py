"""The notifier's Prometheus counters, in a registry of their own so each app instance counts alone."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter

REJECT_REASONS = ("unauthorized", "too_large", "invalid", "unavailable")


@dataclass
class NotifierMetrics:
    """received, published, duplicates, rejected{reason}."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        self.received = Counter(
            "chatops_notifier_received", "Webhook requests received on /alerts", registry=self.registry
        )
        self.published = Counter(
            "chatops_notifier_published", "Notifications stored in CHATOPS_ALERTS", registry=self.registry
        )
        self.duplicates = Counter(
            "chatops_notifier_duplicates",
            "Notifications JetStream already had (a retry or an HA peer's copy)",
            registry=self.registry,
        )
        self.rejected = Counter(
            "chatops_notifier_rejected",
            "Webhook requests refused, by reason",
            ["reason"],
            registry=self.registry,
        )
        for reason in REJECT_REASONS:
            self.rejected.labels(reason=reason)
