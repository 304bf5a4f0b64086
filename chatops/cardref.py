"""How an alert card is named: its key (from the alert group key), the short ref people type, and
the episode (one chat message of the group) that acks name."""

from __future__ import annotations

import hashlib
import re

from google.protobuf.timestamp_pb2 import Timestamp

from chatops.v1.cards_pb2 import AckEvent
from chatops.v1.records_pb2 import AlertMessageRecord

# One firing of one alert: Alertmanager's fingerprint and when it started, in milliseconds.
Firing = tuple[str, int]
SHORT = 8  # hex digits of the ref shown on a card; `ack` takes from 6 up to all 40
_REF = re.compile(r"^#?([0-9a-fA-F]{6,40})$")


def group_ref(group_key: str) -> str:
    """A KV-safe, fixed-length key for a group key (which holds braces, quotes and spaces)."""
    return hashlib.sha256(group_key.encode()).hexdigest()[:40]


def short_ref(ref: str) -> str:
    """The ref shown on a card and typed in `ack`."""
    return ref[:SHORT]


def ref_prefix(text: str) -> str | None:
    """`#3fa2c1d0` or `3FA2C1` -> the hex prefix of a card's key; None when `text` is not one."""
    m = _REF.match(text.strip())
    return m.group(1).lower() if m else None


def episode_of(record: AlertMessageRecord) -> str:
    """The episode a record shows: the notification that opened its message (its ts for records
    written before episodes were recorded)."""
    return record.episode_id or record.ts


def in_force(ack: AckEvent | None, record: AlertMessageRecord) -> AckEvent | None:
    """`ack`, a card's latest ack event, when it acknowledges the episode `record` shows; None when it is
    an unack or names an older episode."""
    if ack is None or not ack.acked or ack.episode != episode_of(record):
        return None
    return ack


def firing(fingerprint: str, starts_at: Timestamp) -> Firing:
    """Which firing of which alert: compared to the millisecond, because Alertmanager's API gives its
    times in milliseconds where its webhook (and so a notification) gives them in nanoseconds."""
    return fingerprint, starts_at.ToMilliseconds()
