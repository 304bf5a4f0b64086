"""OTLP trace data (protobuf or the OTLP JSON encoding, hex ids) to and from frozen spans."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from typing import Any

from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from ops.spans import Span, SpanEvent


class OtlpError(ValueError):
    """A payload that is not OTLP trace data; the text says why."""


def _any_text(value: Any) -> str:
    """An OTLP JSON AnyValue rendered as text."""
    if not isinstance(value, dict) or not value:
        return ""
    kind, inner = next(iter(value.items()))
    if kind == "arrayValue":
        return "[" + ", ".join(_any_text(v) for v in (inner or {}).get("values", [])) + "]"
    if kind == "kvlistValue":
        return json.dumps({kv.get("key", ""): _any_text(kv.get("value")) for kv in inner.get("values", [])})
    if kind == "boolValue":
        return "true" if inner else "false"
    return str(inner)


def _attrs_json(items: Any) -> tuple[tuple[str, str], ...]:
    return tuple((str(kv.get("key", "")), _any_text(kv.get("value"))) for kv in items or [])


def _hex_id(value: Any, size: int) -> str:
    """OTLP JSON ids are hex; accept base64 too (the generic protobuf JSON mapping) to be forgiving."""
    text = str(value or "")
    if not text:
        return ""
    if len(text) == size * 2 and all(c in "0123456789abcdefABCDEF" for c in text):
        return text.lower()
    try:
        return base64.b64decode(text, validate=True).hex()
    except ValueError:
        raise OtlpError(f"span id {text!r} is neither hex nor base64") from None


def _service(resource: Any) -> str:
    for key, value in _attrs_json((resource or {}).get("attributes")):
        if key == "service.name":
            return value
    return ""


def spans_from_json(doc: Any) -> list[Span]:
    """Spans of an OTLP JSON TracesData / ExportTraceServiceRequest object."""
    if not isinstance(doc, dict):
        raise OtlpError("OTLP JSON must be an object with resourceSpans")
    spans: list[Span] = []
    try:
        for rs in doc.get("resourceSpans") or []:
            service = _service(rs.get("resource"))
            for ss in rs.get("scopeSpans") or []:
                for s in ss.get("spans") or []:
                    status = s.get("status") or {}
                    spans.append(
                        Span(
                            trace_id=_hex_id(s.get("traceId"), 16),
                            span_id=_hex_id(s.get("spanId"), 8),
                            parent_span_id=_hex_id(s.get("parentSpanId"), 8),
                            service=service,
                            name=str(s.get("name", "")),
                            start_ns=int(s.get("startTimeUnixNano") or 0),
                            end_ns=int(s.get("endTimeUnixNano") or 0),
                            status_code=_status_code(status.get("code", 0)),
                            status_message=str(status.get("message", "")),
                            attributes=_attrs_json(s.get("attributes")),
                            events=tuple(
                                SpanEvent(
                                    int(e.get("timeUnixNano") or 0),
                                    str(e.get("name", "")),
                                    _attrs_json(e.get("attributes")),
                                )
                                for e in s.get("events") or []
                            ),
                        )
                    )
    except (AttributeError, TypeError, ValueError) as exc:
        raise OtlpError(f"malformed OTLP JSON: {exc}") from None
    return [s for s in spans if s.trace_id and s.span_id]


def _status_code(value: Any) -> int:
    names = {"STATUS_CODE_UNSET": 0, "STATUS_CODE_OK": 1, "STATUS_CODE_ERROR": 2}
    return names[value] if isinstance(value, str) and value in names else int(value or 0)


def _pb_text(value: AnyValue) -> str:
    kind = value.WhichOneof("value")
    if kind is None:
        return ""
    if kind == "array_value":
        return "[" + ", ".join(_pb_text(v) for v in value.array_value.values) + "]"
    if kind == "kvlist_value":
        return json.dumps({kv.key: _pb_text(kv.value) for kv in value.kvlist_value.values})
    if kind == "bool_value":
        return "true" if value.bool_value else "false"
    if kind == "bytes_value":
        return value.bytes_value.hex()
    return str(getattr(value, kind))


def _pb_attrs(items: Any) -> tuple[tuple[str, str], ...]:
    kvs: list[KeyValue] = list(items)
    return tuple((kv.key, _pb_text(kv.value)) for kv in kvs)


def spans_from_protobuf(data: bytes) -> list[Span]:
    """Spans of a binary ExportTraceServiceRequest."""
    request = ExportTraceServiceRequest()
    try:
        request.ParseFromString(data)
    except DecodeError as exc:
        raise OtlpError(f"body is not a protobuf ExportTraceServiceRequest: {exc}") from None
    spans: list[Span] = []
    for rs in request.resource_spans:
        service = next((_pb_text(kv.value) for kv in rs.resource.attributes if kv.key == "service.name"), "")
        for ss in rs.scope_spans:
            for s in ss.spans:
                spans.append(
                    Span(
                        trace_id=s.trace_id.hex(),
                        span_id=s.span_id.hex(),
                        parent_span_id=s.parent_span_id.hex(),
                        service=service,
                        name=s.name,
                        start_ns=s.start_time_unix_nano,
                        end_ns=s.end_time_unix_nano,
                        status_code=int(s.status.code),
                        status_message=s.status.message,
                        attributes=_pb_attrs(s.attributes),
                        events=tuple(
                            SpanEvent(e.time_unix_nano, e.name, _pb_attrs(e.attributes)) for e in s.events
                        ),
                    )
                )
    return [s for s in spans if len(s.trace_id) == 32 and s.span_id]


def spans_from_json_bytes(data: bytes) -> list[Span]:
    try:
        doc = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise OtlpError(f"body is not valid JSON: {exc}") from None
    return spans_from_json(doc)


def _kv(key: str, value: str) -> KeyValue:
    return KeyValue(key=key, value=AnyValue(string_value=value))


def spans_to_protobuf(spans: Sequence[Span], service: str) -> bytes:
    """A binary ExportTraceServiceRequest of one service's spans (the inverse of spans_from_protobuf)."""
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.append(_kv("service.name", service))
    scope = resource_spans.scope_spans.add()
    scope.scope.name = service
    for span in spans:
        out = scope.spans.add()
        out.trace_id = bytes.fromhex(span.trace_id)
        out.span_id = bytes.fromhex(span.span_id)
        if span.parent_span_id:
            out.parent_span_id = bytes.fromhex(span.parent_span_id)
        out.name = span.name
        out.start_time_unix_nano = span.start_ns
        out.end_time_unix_nano = span.end_ns
        out.status.code = span.status_code  # type: ignore[assignment]
        out.status.message = span.status_message
        out.attributes.extend(_kv(k, v) for k, v in span.attributes)
        for event in span.events:
            out.events.add(
                time_unix_nano=event.time_ns,
                name=event.name,
                attributes=[_kv(k, v) for k, v in event.attributes],
            )
    return request.SerializeToString()
