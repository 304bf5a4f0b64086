"""The JetStream streams and KV buckets of the bus contract: created idempotently, raised to what the
settings ask, never lowered (an operator's larger value is kept, with a warning).

`provision()` is the provisioner identity's job (`chatops provision`, run by `chatops up` and by
compose before the components start); a component only `ensure()`s what it uses exists, creating it
itself only on a bus without identities, where nothing stops it.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace

from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.api import (
    DiscardPolicy,
    KeyValueConfig,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.errors import BadRequestError, NotFoundError, ServiceUnavailableError

from chatops import logs
from chatops.settings import BusSettings
from chatops.subjects import (
    ALERTS_PREFIX,
    ALERTS_STREAM,
    AUDIT_PREFIX,
    AUDIT_STREAM,
    CARDS_PREFIX,
    CARDS_STREAM,
    DEADLETTER_PREFIX,
    DEADLETTER_STREAM,
    DEPLOYS_PREFIX,
    DEPLOYS_STREAM,
    KV_ALERT_MESSAGES,
    KV_CONFIRMATIONS,
    KV_DEPLOY_MESSAGES,
    KV_JOURNAL,
    KV_LEASES,
    KV_SEEN_EVENTS,
)

log = logs.get_logger(__name__)

DAY = 24 * 3600.0
# A chat message no gateway answered is kept this long (none ran meanwhile): a gateway that starts
# within a day still answers it, saying how late. Its bucket's size cap (kv_max_bytes) bounds what a
# flood stores; a message that finds it full is answered still, only not kept for another replica.
JOURNAL_TTL = DAY


@dataclass(frozen=True)
class Limits:
    """Retention of the event streams; replicas > 1 only on a NATS cluster."""

    alerts_max_age: float = 30 * DAY
    alerts_max_bytes: int = 1 << 30
    audit_max_age: float = 365 * DAY
    audit_max_bytes: int = 1 << 30
    deploys_max_age: float = 365 * DAY
    deploys_max_bytes: int = 256 << 20
    deadletter_max_age: float = 90 * DAY
    deadletter_max_bytes: int = 256 << 20
    # Card events are kept as long as the alerts they are about (0: alerts_max_age); ops appends the
    # state of a card or a silence still open again before it would age out (ops/cardkeeper.py).
    cards_max_age: float = 0.0
    cards_max_bytes: int = 256 << 20
    duplicate_window: float = 2 * 3600.0
    replicas: int = 1
    # Each KV bucket's size and value caps: a flood of events or clicks cannot fill the disk. A full
    # bucket refuses new keys (NATS' KV discards new); the writers treat that as the store being down.
    kv_max_bytes: int = 64 << 20
    kv_max_value: int = 64 << 10

    @classmethod
    def from_settings(cls, settings: BusSettings) -> Limits:
        return cls(
            alerts_max_age=settings.ALERTS_MAX_AGE,
            alerts_max_bytes=settings.ALERTS_MAX_BYTES,
            audit_max_age=settings.AUDIT_MAX_AGE,
            audit_max_bytes=settings.AUDIT_MAX_BYTES,
            deploys_max_age=settings.DEPLOYS_MAX_AGE,
            deploys_max_bytes=settings.DEPLOYS_MAX_BYTES,
            replicas=settings.CHATOPS_REPLICAS,
        )


def stream_configs(limits: Limits) -> list[StreamConfig]:
    def stream(name: str, description: str, prefix: str, max_age: float, max_bytes: int) -> StreamConfig:
        return StreamConfig(
            name=name,
            description=description,
            subjects=[f"{prefix}.>"],
            max_age=max_age,
            duplicate_window=min(limits.duplicate_window, max_age),
            max_bytes=max_bytes,
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.FILE,
            discard=DiscardPolicy.OLD,
            num_replicas=limits.replicas,
            max_msg_size=4 << 20,
        )

    # The event log cannot be wiped through the API, by anyone (and this cannot be undone).
    audit = stream(
        AUDIT_STREAM,
        "One event per command run by ops",
        AUDIT_PREFIX,
        limits.audit_max_age,
        limits.audit_max_bytes,
    )
    audit = replace(audit, deny_delete=True, deny_purge=True)
    return [
        stream(
            ALERTS_STREAM,
            "One event per Alertmanager notification",
            ALERTS_PREFIX,
            limits.alerts_max_age,
            limits.alerts_max_bytes,
        ),
        audit,
        stream(
            DEPLOYS_STREAM,
            "One event per step of every deploy; a service's state is their projection",
            DEPLOYS_PREFIX,
            limits.deploys_max_age,
            limits.deploys_max_bytes,
        ),
        stream(
            CARDS_STREAM,
            "Acks of alert cards and every change of a silence; a card is their projection",
            CARDS_PREFIX,
            limits.cards_max_age or limits.alerts_max_age,
            limits.cards_max_bytes,
        ),
        stream(
            DEADLETTER_STREAM,
            "Events that could not be delivered, with the reason; listed and replayed from chat",
            DEADLETTER_PREFIX,
            limits.deadletter_max_age,
            limits.deadletter_max_bytes,
        ),
    ]


def kv_configs(limits: Limits) -> list[KeyValueConfig]:
    def bucket(name: str, description: str, ttl: float) -> KeyValueConfig:
        return KeyValueConfig(
            bucket=name,
            description=description,
            history=1,
            ttl=ttl,
            replicas=limits.replicas,
            max_bytes=limits.kv_max_bytes,
            max_value_size=limits.kv_max_value,
        )

    return [
        bucket(KV_ALERT_MESSAGES, "alert group -> chat message", limits.alerts_max_age),
        bucket(KV_SEEN_EVENTS, "Slack event id -> seen", DAY),
        bucket(KV_CONFIRMATIONS, "pending confirmations", DAY),
        bucket(KV_DEPLOY_MESSAGES, "deploy -> the chat messages that show its progress", 30 * DAY),
        bucket(KV_LEASES, "a job only one replica does at a time -> who does it, until when", DAY),
        # A day: a message no gateway answered that long (none ran) is let go of.
        bucket(KV_JOURNAL, "chat messages taken by a gateway, until answered", JOURNAL_TTL),
    ]


class ProvisionError(Exception):
    """A stream or bucket that is missing and cannot be made by this identity; the text says what to run."""


def kv_stream(bucket: str) -> str:
    """The stream that holds a KV bucket."""
    return f"KV_{bucket}"


def names(limits: Limits | None = None) -> list[str]:
    """Every stream of the contract, buckets' streams included."""
    limits = limits or Limits()
    found = [str(c.name) for c in stream_configs(limits)]
    return found + [kv_stream(kv.bucket) for kv in kv_configs(limits)]


def _unlimited(value: float | None) -> float:
    """JetStream's 0, -1 or unset limit as infinity, so that `max()` keeps "no limit" as the larger."""
    return math.inf if value is None or value <= 0 else float(value)


# The limits `provision` raises and never lowers: (field, does 0/-1 mean "no limit").
_RAISED = (("max_age", True), ("max_bytes", True), ("max_msg_size", True), ("num_replicas", False))


def merge(
    have: StreamConfig, want: StreamConfig, *, caps: tuple[str, ...] = ()
) -> tuple[StreamConfig, list[str], list[str]]:
    """`have` raised to `want`: (config to keep, what was raised, what is larger); `caps` fill in if unset."""
    merged, raised, kept = have, [], []
    for name, zero_is_unlimited in _RAISED:
        old, new = getattr(have, name), getattr(want, name)
        if new is None:
            continue
        old_n = _unlimited(old) if zero_is_unlimited else float(old or 1)
        new_n = _unlimited(new) if zero_is_unlimited else float(new)
        if name in caps and old_n == math.inf and new_n < old_n:
            merged = replace(merged, **{name: new})
            raised.append(f"{name} capped at {new}")
        elif new_n > old_n:
            merged = replace(merged, **{name: new})
            raised.append(f"{name} {old} -> {new}")
        elif new_n < old_n:
            kept.append(f"{name}={old} (settings ask for {new})")
    subjects = list(have.subjects or [])
    missing = [s for s in want.subjects or [] if s not in subjects]
    if missing:
        merged = replace(merged, subjects=subjects + missing)
        raised.append(f"subjects + {', '.join(missing)}")
    if want.deny_delete and not have.deny_delete:
        merged = replace(merged, deny_delete=True)
        raised.append("deny_delete on")
    if want.deny_purge and not have.deny_purge:
        merged = replace(merged, deny_purge=True)
        raised.append("deny_purge on")
    return merged, raised, kept


def _wanted(limits: Limits) -> dict[str, StreamConfig | KeyValueConfig]:
    found: dict[str, StreamConfig | KeyValueConfig] = {str(c.name): c for c in stream_configs(limits)}
    for kv in kv_configs(limits):
        found[kv_stream(kv.bucket)] = kv
    return found


def _as_stream(want: StreamConfig | KeyValueConfig) -> StreamConfig:
    """The limits a bucket asks of its stream, in the stream's own terms."""
    if isinstance(want, StreamConfig):
        return want
    return StreamConfig(
        name=kv_stream(want.bucket),
        subjects=[f"$KV.{want.bucket}.>"],
        max_age=want.ttl,
        max_bytes=want.max_bytes,
        max_msg_size=want.max_value_size,
        num_replicas=want.replicas,
    )


def _caps(want: StreamConfig | KeyValueConfig) -> tuple[str, ...]:
    """A bucket's size and value caps bound what a flood can store: an uncapped bucket gets them."""
    return () if isinstance(want, StreamConfig) else ("max_bytes", "max_msg_size")


# JetStream's "stream name already in use": someone made it between our look and our create.
STREAM_EXISTS = 10058
# How often one stream is looked at again before provisioning gives up on it: each round only raises,
# so rounds end once nothing is left to raise (another provisioner's stale write is raised again).
ROUNDS = 8


async def _create(js: JetStreamContext, want: StreamConfig | KeyValueConfig) -> bool:
    """Create it; False when it exists already (another replica made it just now)."""
    try:
        if isinstance(want, StreamConfig):
            await js.add_stream(want)
        else:
            await js.create_key_value(want)
    except BadRequestError as exc:
        if exc.err_code == STREAM_EXISTS:
            return False
        raise
    return True


async def _info(js: JetStreamContext, name: str) -> StreamConfig | None:
    try:
        info = await js.stream_info(name)
    except NotFoundError:
        return None
    return info.config


async def _provision_one(js: JetStreamContext, name: str, want: StreamConfig | KeyValueConfig) -> list[str]:
    """Make `name` what `want` asks, at least; what changed (empty when it was so already).

    Several replicas may do this at once. A create that finds the stream made meanwhile, an update
    that another provisioner overwrote with what it had read before, and a call that timed out while
    a cluster was busy (placing replicas, electing a leader) are followed by another look: every
    write only raises, so the rounds settle on the largest of what everyone asks.
    """
    what = "stream" if isinstance(want, StreamConfig) else "bucket"
    label = name if what == "stream" else name.removeprefix("KV_")
    changed: list[str] = []
    why = "it kept changing"
    for attempt in range(ROUNDS):
        try:
            have = await _info(js, name)
            if have is None:
                if await _create(js, want):
                    return [f"{what} {label} created"]
                continue
            merged, raised, kept = merge(have, _as_stream(want), caps=_caps(want))
            if not raised:
                for line in kept:
                    log.warning("provision.kept_larger", stream=name, kept=line)
                return changed
            await js.update_stream(merged)
            if not changed:
                changed.append(f"{what} {label} raised: {'; '.join(raised)}")
        except (TimeoutError, ServiceUnavailableError) as exc:  # nats' TimeoutError is one too
            why = f"{type(exc).__name__}: {exc}"
            log.info("provision.retry", stream=name, reason=why)
            await asyncio.sleep(0.2 * (attempt + 1))
    raise ProvisionError(f"{name} could not be provisioned ({why}); run `chatops provision` again")


async def provision(js: JetStreamContext, limits: Limits | None = None) -> list[str]:
    """Create what is missing and raise what the settings ask more of; returns what changed."""
    changed: list[str] = []
    for name, want in _wanted(limits or Limits()).items():
        changed += await _provision_one(js, name, want)
    for line in changed:
        log.info("provision", change=line)
    return changed


async def provision_when_ready(
    settings: BusSettings, limits: Limits | None = None, *, timeout: float = 60.0
) -> list[str]:
    """Connect as `settings` says (the provisioner) and provision, trying again while the bus is not
    ready: a server still starting, a cluster electing its JetStream leader or waiting for enough
    nodes to place a stream's replicas on. ProvisionError says the last reason when time runs out."""
    from chatops.bus import connect, jetstream  # the bus module is the heavier one; only this needs it

    deadline = time.monotonic() + timeout
    delay = 0.2
    while True:
        try:
            # connect() waits for ever for a server: the deadline bounds it.
            left = max(1.0, deadline - time.monotonic())
            nc = await asyncio.wait_for(connect(settings, "provisioner"), left)
            try:
                return await provision(jetstream(nc, settings), limits)
            finally:
                await nc.close()
        except (NatsError, OSError, TimeoutError) as exc:
            if time.monotonic() + delay > deadline:
                raise ProvisionError(f"could not create the streams: {type(exc).__name__}: {exc}") from None
            log.info("provision.waiting", reason=f"{type(exc).__name__}: {exc}", retry_in=delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)


async def ensure(js: JetStreamContext, streams: Iterable[str], limits: Limits | None = None) -> list[str]:
    """A component's start: the streams it uses exist (made only where it may); smaller ones get a warning."""
    wanted = _wanted(limits or Limits())
    created: list[str] = []
    for name in streams:
        want = wanted[name]
        have = await _info(js, name)
        if have is None:
            try:
                made = await _create(js, want)
            except (TimeoutError, NatsError) as exc:
                raise ProvisionError(
                    f"{name} does not exist and this identity may not create it ({type(exc).__name__}): "
                    "run `chatops provision` as the provisioner identity"
                ) from None
            if made:
                created.append(name)
                log.info("provision", change=f"{name} created")
                continue
            have = await _info(js, name)  # another replica made it just now: compare with that
            if have is None:
                continue
        _, raised, _ = merge(have, _as_stream(want), caps=_caps(want))
        if raised:
            log.warning(
                "provision.below_settings", stream=name, short=", ".join(raised), fix="chatops provision"
            )
    return created
