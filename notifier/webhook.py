"""Alertmanager's webhook payload (version "4") parsed at the edge, and turned into AlertNotification."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Annotated, Literal

from google.protobuf.timestamp_pb2 import Timestamp
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from chatops.v1.events_pb2 import AlertInstance, AlertNotification

# Alertmanager writes Go's zero time for "not ended yet".
_GO_ZERO_YEAR = 1
SEVERITY_ORDER = ("critical", "warning", "info")

# Bounds on what one notification may carry. Alertmanager sends at most `max_alerts` alerts per
# notification (alertmanager/alertmanager.yml says 500); names, values and URLs far beyond what any
# real alert needs are refused, so no sender can make the notifier or the bus hold huge messages.
MAX_ALERTS = 500
MAX_PAIRS = 64  # labels or annotations per alert (and per common/group set)
MAX_NAME = 256
MAX_LABEL_VALUE = 4096
MAX_ANNOTATION_VALUE = 16384
MAX_TEXT = 4096  # group key, receiver, URLs, fingerprints

Name = Annotated[str, StringConstraints(max_length=MAX_NAME)]
LabelValue = Annotated[str, StringConstraints(max_length=MAX_LABEL_VALUE)]
AnnotationValue = Annotated[str, StringConstraints(max_length=MAX_ANNOTATION_VALUE)]
Text = Annotated[str, StringConstraints(max_length=MAX_TEXT)]
Labels = Annotated[dict[Name, LabelValue], Field(max_length=MAX_PAIRS)]
Annotations = Annotated[dict[Name, AnnotationValue], Field(max_length=MAX_PAIRS)]


class PayloadError(ValueError):
    """A webhook body that is not a valid Alertmanager v4 notification; the text says why."""


class _Model(BaseModel):
    # Alertmanager may add fields in later versions; unknown ones are ignored, known ones are checked,
    # strictly: a number where a string or a time belongs is refused, not converted.
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True, strict=True)


class WebhookAlert(_Model):
    """One alert of the webhook body."""

    status: Literal["firing", "resolved"]
    labels: Labels
    annotations: Annotations = Field(default_factory=dict)
    starts_at: datetime = Field(alias="startsAt")
    ends_at: datetime | None = Field(default=None, alias="endsAt")
    generator_url: Text = Field(default="", alias="generatorURL")
    fingerprint: Text = ""


class WebhookPayload(_Model):
    """The whole webhook body."""

    version: Literal["4"]
    group_key: Text = Field(alias="groupKey", min_length=1)
    status: Literal["firing", "resolved"]
    receiver: Text
    group_labels: Labels = Field(default_factory=dict, alias="groupLabels")
    common_labels: Labels = Field(default_factory=dict, alias="commonLabels")
    common_annotations: Annotations = Field(default_factory=dict, alias="commonAnnotations")
    external_url: Text = Field(default="", alias="externalURL")
    truncated_alerts: int = Field(default=0, ge=0, le=1 << 31, alias="truncatedAlerts")
    alerts: list[WebhookAlert] = Field(min_length=1, max_length=MAX_ALERTS)


def parse_payload(body: bytes) -> WebhookPayload:
    """Parse a webhook body; PayloadError names the first bad field."""
    try:
        return WebhookPayload.model_validate_json(body)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False)
        first = errors[0]
        # A 4,000-character label name is a location too: the reason stays short whatever was sent.
        where = ".".join(str(p)[:40] for p in first["loc"]) or "body"
        more = len(errors) - 1
        tail = f" (and {more} more)" if more else ""
        raise PayloadError(f"{where}: {first['msg'][:200]}{tail}") from None


def _timestamp(value: datetime | None) -> Timestamp | None:
    if value is None or value.year <= _GO_ZERO_YEAR:
        return None
    ts = Timestamp()
    ts.FromDatetime(value if value.tzinfo else value.replace(tzinfo=UTC))
    return ts


def highest_severity(alerts: list[WebhookAlert]) -> str:
    """The highest `severity` label among the alerts: critical > warning > info, else "none"."""
    present = {a.labels.get("severity", "").lower() for a in alerts}
    return next((s for s in SEVERITY_ORDER if s in present), "none")


def to_notification(payload: WebhookPayload) -> AlertNotification:
    """Build the bus event; `received_at` and `notification_id` are left for the caller."""
    note = AlertNotification(
        group_key=payload.group_key,
        status=payload.status,
        receiver=payload.receiver,
        group_labels=payload.group_labels,
        common_labels=payload.common_labels,
        common_annotations=payload.common_annotations,
        external_url=payload.external_url,
        truncated_alerts=payload.truncated_alerts,
        severity=highest_severity(payload.alerts),
    )
    for alert in payload.alerts:
        instance = AlertInstance(
            status=alert.status,
            labels=alert.labels,
            annotations=alert.annotations,
            generator_url=alert.generator_url,
            fingerprint=alert.fingerprint,
        )
        starts = _timestamp(alert.starts_at)
        if starts is not None:
            instance.starts_at.CopyFrom(starts)
        ends = _timestamp(alert.ends_at)
        if ends is not None:
            instance.ends_at.CopyFrom(ends)
        note.alerts.append(instance)
    return note


def content_id(note: AlertNotification) -> str:
    """sha256 of the notification's content, the same for a retry or an HA peer's copy."""
    canonical = AlertNotification()
    canonical.CopyFrom(note)
    canonical.ClearField("received_at")
    canonical.ClearField("notification_id")
    # HA peers each link to themselves; the alerts they announce are the same.
    canonical.ClearField("external_url")
    return hashlib.sha256(canonical.SerializeToString(deterministic=True)).hexdigest()
