"""Alertmanager's webhook payload (version "4") parsed at the edge, and turned into AlertNotification."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Literal

from google.protobuf.timestamp_pb2 import Timestamp
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from chatops.v1.events_pb2 import AlertInstance, AlertNotification

# Alertmanager writes Go's zero time for "not ended yet".
_GO_ZERO_YEAR = 1
SEVERITY_ORDER = ("critical", "warning", "info")


class PayloadError(ValueError):
    """A webhook body that is not a valid Alertmanager v4 notification; the text says why."""


class _Model(BaseModel):
    # Alertmanager may add fields in later versions; unknown ones are ignored, known ones are checked.
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class WebhookAlert(_Model):
    """One alert of the webhook body."""

    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    starts_at: datetime = Field(alias="startsAt")
    ends_at: datetime | None = Field(default=None, alias="endsAt")
    generator_url: str = Field(default="", alias="generatorURL")
    fingerprint: str = ""


class WebhookPayload(_Model):
    """The whole webhook body."""

    version: Literal["4"]
    group_key: str = Field(alias="groupKey", min_length=1)
    status: Literal["firing", "resolved"]
    receiver: str
    group_labels: dict[str, str] = Field(default_factory=dict, alias="groupLabels")
    common_labels: dict[str, str] = Field(default_factory=dict, alias="commonLabels")
    common_annotations: dict[str, str] = Field(default_factory=dict, alias="commonAnnotations")
    external_url: str = Field(default="", alias="externalURL")
    truncated_alerts: int = Field(default=0, ge=0, alias="truncatedAlerts")
    alerts: list[WebhookAlert] = Field(min_length=1)


def parse_payload(body: bytes) -> WebhookPayload:
    """Parse a webhook body; PayloadError names the first bad field."""
    try:
        return WebhookPayload.model_validate_json(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        more = len(exc.errors()) - 1
        tail = f" (and {more} more)" if more else ""
        raise PayloadError(f"{where}: {first['msg']}{tail}") from None


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
