"""Ops's own tracer: a span per command, continued from the caller's `traceparent`."""

from __future__ import annotations

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ALWAYS_ON, ParentBased

SERVICE = "chatops-ops"


def tracer_provider(export_endpoint: str, service: str = SERVICE) -> TracerProvider:
    """A provider that keeps the caller's sampling decision; exports to `<endpoint>/v1/traces` when set."""
    provider = TracerProvider(
        resource=Resource.create({"service.name": service}), sampler=ParentBased(ALWAYS_ON)
    )
    if export_endpoint:
        provider.add_span_processor(
            BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{export_endpoint}/v1/traces", timeout=5))
        )
    return provider
