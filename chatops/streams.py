"""Idempotent provisioning of the JetStream streams and KV buckets of the bus contract."""

from __future__ import annotations

from dataclasses import dataclass

from nats.js import JetStreamContext
from nats.js.api import (
    DiscardPolicy,
    KeyValueConfig,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.errors import BucketNotFoundError, NotFoundError

from chatops import logs
from chatops.subjects import (
    ALERTS_PREFIX,
    ALERTS_STREAM,
    AUDIT_PREFIX,
    AUDIT_STREAM,
    DEPLOYS_PREFIX,
    DEPLOYS_STREAM,
    KV_ALERT_MESSAGES,
    KV_CONFIRMATIONS,
    KV_DEPLOY_MESSAGES,
    KV_SEEN_EVENTS,
)

log = logs.get_logger(__name__)

DAY = 24 * 3600.0


@dataclass(frozen=True)
class Limits:
    """Retention of the event streams; replicas > 1 only on a NATS cluster."""

    alerts_max_age: float = 30 * DAY
    alerts_max_bytes: int = 1 << 30
    audit_max_age: float = 365 * DAY
    audit_max_bytes: int = 1 << 30
    deploys_max_age: float = 365 * DAY
    deploys_max_bytes: int = 256 << 20
    duplicate_window: float = 2 * 3600.0
    replicas: int = 1
    # Each KV bucket's size and value caps: a flood of events or clicks cannot fill the disk. A full
    # bucket refuses new keys (NATS' KV discards new); the writers treat that as the store being down.
    kv_max_bytes: int = 64 << 20
    kv_max_value: int = 64 << 10


def stream_configs(limits: Limits) -> list[StreamConfig]:
    common = {
        "retention": RetentionPolicy.LIMITS,
        "storage": StorageType.FILE,
        "discard": DiscardPolicy.OLD,
        "num_replicas": limits.replicas,
        "max_msg_size": 4 << 20,
    }
    return [
        StreamConfig(
            name=ALERTS_STREAM,
            description="One event per Alertmanager notification",
            subjects=[f"{ALERTS_PREFIX}.>"],
            max_age=limits.alerts_max_age,
            duplicate_window=min(limits.duplicate_window, limits.alerts_max_age),
            max_bytes=limits.alerts_max_bytes,
            **common,  # type: ignore[arg-type]
        ),
        StreamConfig(
            name=AUDIT_STREAM,
            description="One event per command run by ops",
            subjects=[f"{AUDIT_PREFIX}.>"],
            max_age=limits.audit_max_age,
            duplicate_window=min(limits.duplicate_window, limits.audit_max_age),
            max_bytes=limits.audit_max_bytes,
            **common,  # type: ignore[arg-type]
        ),
        StreamConfig(
            name=DEPLOYS_STREAM,
            description="One event per step of every deploy; a service's state is their projection",
            subjects=[f"{DEPLOYS_PREFIX}.>"],
            max_age=limits.deploys_max_age,
            duplicate_window=min(limits.duplicate_window, limits.deploys_max_age),
            max_bytes=limits.deploys_max_bytes,
            **common,  # type: ignore[arg-type]
        ),
    ]


def kv_configs(limits: Limits) -> list[KeyValueConfig]:
    return [
        KeyValueConfig(
            bucket=KV_ALERT_MESSAGES,
            description="alert group -> chat message",
            history=1,
            ttl=limits.alerts_max_age,
            replicas=limits.replicas,
            max_bytes=limits.kv_max_bytes,
            max_value_size=limits.kv_max_value,
        ),
        KeyValueConfig(
            bucket=KV_SEEN_EVENTS,
            description="Slack event id -> seen",
            history=1,
            ttl=DAY,
            replicas=limits.replicas,
            max_bytes=limits.kv_max_bytes,
            max_value_size=limits.kv_max_value,
        ),
        KeyValueConfig(
            bucket=KV_CONFIRMATIONS,
            description="pending confirmations",
            history=1,
            ttl=DAY,
            replicas=limits.replicas,
            max_bytes=limits.kv_max_bytes,
            max_value_size=limits.kv_max_value,
        ),
        KeyValueConfig(
            bucket=KV_DEPLOY_MESSAGES,
            description="deploy -> the chat messages that show its progress",
            history=1,
            ttl=30 * DAY,
            replicas=limits.replicas,
            max_bytes=limits.kv_max_bytes,
            max_value_size=limits.kv_max_value,
        ),
    ]


def _differs(want: StreamConfig, have: StreamConfig) -> bool:
    fields = (
        "subjects",
        "max_age",
        "max_bytes",
        "duplicate_window",
        "retention",
        "storage",
        "discard",
        "num_replicas",
        "max_msg_size",
        "description",
    )
    return any(getattr(want, f) != getattr(have, f) for f in fields)


async def provision(js: JetStreamContext, limits: Limits | None = None) -> list[str]:
    """Create or update every stream and bucket; returns what changed (empty when nothing did)."""
    limits = limits or Limits()
    changed: list[str] = []
    for want in stream_configs(limits):
        assert want.name is not None
        try:
            info = await js.stream_info(want.name)
        except NotFoundError:
            await js.add_stream(want)
            changed.append(f"stream {want.name} created")
            continue
        if _differs(want, info.config):
            await js.update_stream(want)
            changed.append(f"stream {want.name} updated")
    for kv in kv_configs(limits):
        try:
            await js.key_value(kv.bucket)
        except BucketNotFoundError:
            await js.create_key_value(kv)
            changed.append(f"bucket {kv.bucket} created")
            continue
        # Buckets made before they had size caps get them.
        have = (await js.stream_info(f"KV_{kv.bucket}")).config
        if (have.max_bytes, have.max_msg_size) != (kv.max_bytes, kv.max_value_size):
            have.max_bytes, have.max_msg_size = kv.max_bytes, kv.max_value_size
            await js.update_stream(have)
            changed.append(f"bucket {kv.bucket} updated")
    for line in changed:
        log.info("provision", change=line)
    return changed
