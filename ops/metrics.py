"""The Ops service's Prometheus metrics (served by chatops.health)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


@dataclass(frozen=True)
class Names:
    """The series names of one micro service's command metrics (ops', or the deployer's)."""

    commands: str
    latency: str
    backend_errors: str
    audit_failures: str


OPS = Names(
    "chatops_ops_commands",
    "chatops_ops_command_seconds",
    "chatops_ops_backend_errors",
    "chatops_ops_audit_failures",
)


class Metrics:
    """Commands by endpoint and outcome, their latency, and backend errors, in a registry of their own."""

    def __init__(self, names: Names = OPS) -> None:
        self.registry = CollectorRegistry()
        self.commands = Counter(
            names.commands,
            "Commands answered, by command and outcome (ok or the error code).",
            ["command", "outcome"],
            registry=self.registry,
        )
        self.latency = Histogram(
            names.latency,
            "Time to answer a command, by command.",
            ["command"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.backend_errors = Counter(
            names.backend_errors,
            "Backend calls that failed (502) or timed out (504).",
            ["backend", "code"],
            registry=self.registry,
        )
        self.audit_failures = Counter(
            names.audit_failures,
            "Audit events that could not be appended.",
            registry=self.registry,
        )

        # Each command's series, looked up once: labels() validates and locks on every call.
        self._series: dict[tuple[str, int], tuple[Any, Any]] = {}

    def observe(self, command: str, code: int, seconds: float, backend: str = "") -> None:
        series = self._series.get((command, code))
        if series is None:
            series = self._series[command, code] = (
                self.commands.labels(command, "ok" if code == 0 else str(code)),
                self.latency.labels(command),
            )
        series[0].inc()
        series[1].observe(seconds)
        if backend:
            self.backend_errors.labels(backend, str(code)).inc()


class OpsMetrics(Metrics):
    """Ops' command metrics, and whether its trace store answers."""

    def __init__(self) -> None:
        super().__init__(OPS)
        self.trace_store_up = Gauge(
            "chatops_ops_trace_store_up",
            "1 when the last probe of the trace store answered (Jaeger, or the local SQLite store), else 0.",
            ["backend"],
            registry=self.registry,
        )
