"""Tracing set-up: a tracer provider named `petstore`, its exporters, and log lines as span events."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Span, format_trace_id

from chatops import logs
from petstore.sampler import PetstoreSampler

SERVICE_NAME = "petstore"

log = logs.get_logger(__name__)


def otlp_processor(schedule_delay_ms: int) -> SpanProcessor:
    """Batch spans to the standard OTLP/HTTP exporter; it reads OTEL_EXPORTER_OTLP_* itself."""
    return BatchSpanProcessor(OTLPSpanExporter(), schedule_delay_millis=schedule_delay_ms)


def tracer_provider(
    sampler: PetstoreSampler, version: str, processors: Sequence[SpanProcessor]
) -> TracerProvider:
    """A provider for service `petstore` at `version`; the caller shuts it down to flush."""
    resource = Resource.create({"service.name": SERVICE_NAME, "service.version": version})
    provider = TracerProvider(sampler=sampler, resource=resource, shutdown_on_exit=False)
    for processor in processors:
        provider.add_span_processor(processor)
    return provider


def note(span: Span, message: str, **fields: Any) -> None:
    """One log line: a span event (the seed's "events instead of log files"), and a debug line."""
    attributes = {k: v if isinstance(v, str | bool | int | float) else str(v) for k, v in fields.items()}
    span.add_event(message, attributes)
    ctx = span.get_span_context()
    trace_id = format_trace_id(ctx.trace_id) if ctx.is_valid else None
    log.debug("petstore.event", message=message, trace_id=trace_id, **attributes)
