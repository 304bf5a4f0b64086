"""Prometheus metrics for every RPC (served with /healthz by chatops.health)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import generate_latest

METHODS = ("AddPets", "UpdatePets", "DeletePets", "SearchPets", "ChangeSampler", "GetSampler")
BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class PetstoreMetrics:
    """The petstore_* series, in a registry of their own so several servers can share a process."""

    def __init__(self, version: str, registry: CollectorRegistry | None = None, commit: str = "") -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "petstore_requests",
            "RPCs finished, by method and gRPC status code.",
            ["method", "code"],
            registry=r,
        )
        self.errors = Counter(
            "petstore_request_errors",
            "RPCs that ended with a status other than OK.",
            ["method"],
            registry=r,
        )
        self.duration = Histogram(
            "petstore_request_duration_seconds",
            "Time to answer an RPC.",
            ["method"],
            buckets=BUCKETS,
            registry=r,
        )
        self.in_flight = Gauge(
            "petstore_requests_in_flight", "RPCs being answered right now.", ["method"], registry=r
        )
        self.pets = Gauge("petstore_pets", "Pets in the store.", registry=r)
        build = Gauge(
            "petstore_build_info",
            "The running petstore's version and the commit it was built from; always 1.",
            ["version", "commit"],
            registry=r,
        )
        build.labels(version=version, commit=commit).set(1)
        # Every method's series exist from the start, so rate() and absent() work before traffic.
        for method in METHODS:
            self.requests.labels(method=method, code="OK")
            self.errors.labels(method=method)
            self.duration.labels(method=method)
            self.in_flight.labels(method=method)

    def finished(self, method: str, code: str, seconds: float) -> None:
        """Count one finished RPC with its status code and duration."""
        self.requests.labels(method=method, code=code).inc()
        if code != "OK":
            self.errors.labels(method=method).inc()
        self.duration.labels(method=method).observe(seconds)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
