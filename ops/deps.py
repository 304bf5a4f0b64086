"""Everything a handler may use, built once by main() and passed explicitly."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from google.protobuf.message import Message

from ops.auditlog import AuditLog
from ops.backends.alertmanager import AlertmanagerBackend
from ops.backends.petstore import SamplerBackend
from ops.backends.prometheus import PrometheusBackend
from ops.backends.traces import TraceBackend
from ops.cards import CardLog
from ops.context import CallContext
from ops.deadletters import DeadLetters
from ops.graphs.pool import Renderer
from ops.graphs.window import GraphLimits


@dataclass(frozen=True)
class Deps:
    """The backends and the few settings handlers read."""

    traces: TraceBackend
    petstore: SamplerBackend
    prometheus: PrometheusBackend
    alertmanager: AlertmanagerBackend
    audit: AuditLog
    deadletters: DeadLetters
    graphs: Renderer
    alertmanager_url: str
    cards: CardLog
    petstore_job: str = "petstore"
    default_service: str = "petstore"
    graph_limits: GraphLimits = field(default_factory=GraphLimits)


# A handler: (deps, caller, decoded request) -> reply message; raises OpsError.
Handler = Callable[[Deps, CallContext, Any], Awaitable[Message]]
