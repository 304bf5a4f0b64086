"""Appending a notification to JetStream, and the seam the HTTP handler talks to."""

from __future__ import annotations

from typing import Protocol

from nats.aio.client import Client
from nats.errors import Error as NatsError

from chatops.subjects import ALERTS_STREAM, H_MSG_ID

DEFAULT_MAX_PAYLOAD = 1 << 20  # NATS' default, until the server has said its own


class PublishUnavailable(Exception):
    """JetStream did not acknowledge: not connected, no stream, or the ack timed out."""


class Publisher(Protocol):
    """Where notifications go; `publish` returns True when JetStream already had the message."""

    @property
    def connected(self) -> bool: ...

    @property
    def max_payload(self) -> int:
        """The largest message the bus takes."""
        ...

    async def publish(self, subject: str, data: bytes, msg_id: str) -> bool: ...


class JetStreamPublisher:
    """Publishes to CHATOPS_ALERTS and waits for the ack; `nc` may be set later, once connected."""

    def __init__(self, nc: Client | None = None, *, ack_timeout: float = 5.0) -> None:
        self.nc = nc
        self.ack_timeout = ack_timeout

    @property
    def connected(self) -> bool:
        return self.nc is not None and self.nc.is_connected

    @property
    def max_payload(self) -> int:
        return self.nc.max_payload if self.nc is not None else DEFAULT_MAX_PAYLOAD

    async def publish(self, subject: str, data: bytes, msg_id: str) -> bool:
        # While disconnected nats-py would buffer the message and we could not tell Alertmanager
        # whether it was stored; refuse at once so Alertmanager retries.
        if self.nc is None or not self.nc.is_connected:
            raise PublishUnavailable("not connected to NATS")
        js = self.nc.jetstream()
        try:
            ack = await js.publish(
                subject, data, timeout=self.ack_timeout, stream=ALERTS_STREAM, headers={H_MSG_ID: msg_id}
            )
        except (TimeoutError, NatsError, OSError) as exc:
            raise PublishUnavailable(f"{type(exc).__name__}: {exc}") from None
        return bool(ack.duplicate)
