"""The record of every envelope or POST the emulator delivered to the app, and its acks."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

MAX_RECORDS = 5000


@dataclass
class Delivery:
    """One event or interaction on its way to the app, with each attempt and the ack."""

    id: str
    kind: str
    mode: str
    payload: dict[str, Any]
    attempts: list[dict[str, Any]] = field(default_factory=list)
    acked: bool = False
    ack_payload: dict[str, Any] | None = None
    created: float = field(default_factory=time.time)

    def attempt(self, retry_attempt: int, reason: str, **extra: Any) -> dict[str, Any]:
        entry = {"retry_attempt": retry_attempt, "retry_reason": reason, "at": time.time(), **extra}
        self.attempts.append(entry)
        return entry

    def to_json(self) -> dict[str, Any]:
        payload = self.payload
        event = payload.get("event") if isinstance(payload.get("event"), dict) else None
        return {
            "id": self.id,
            "kind": self.kind,
            "mode": self.mode,
            "acked": self.acked,
            "ack_payload": self.ack_payload,
            "attempts": list(self.attempts),
            "event_id": payload.get("event_id"),
            "event_type": event.get("type") if event else payload.get("type"),
            "payload": payload,
        }


@dataclass
class DeliveryLog:
    """Deliveries in the order they were made, capped so a long demo does not grow without bound."""

    records: dict[str, Delivery] = field(default_factory=dict)

    def add(self, delivery: Delivery) -> Delivery:
        self.records[delivery.id] = delivery
        while len(self.records) > MAX_RECORDS:
            del self.records[next(iter(self.records))]
        return delivery

    def get(self, delivery_id: str) -> Delivery | None:
        return self.records.get(delivery_id)

    def to_json(self) -> list[dict[str, Any]]:
        return [d.to_json() for d in self.records.values()]
