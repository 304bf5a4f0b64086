"""The deployer's Prometheus metrics: its commands, counted as ops counts its own."""

from __future__ import annotations

from ops.metrics import Metrics, Names

DEPLOYER = Names(
    "chatops_deployer_commands",
    "chatops_deployer_command_seconds",
    "chatops_deployer_backend_errors",
    "chatops_deployer_audit_failures",
)


def deployer_metrics() -> Metrics:
    return Metrics(DEPLOYER)
