"""Faults switched on by tests: forced 429s, 500s, refused blocks, slow answers, dropped sockets and
events sent on two sockets at once, each for a count or a time."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

KINDS = ("ratelimited", "server_error", "socket_drop", "invalid_blocks", "slow", "socket_duplicate")


@dataclass(frozen=True)
class Fault:
    """One switch: `kind`, which Web API methods it hits (empty: all), how many times or how long."""

    kind: str
    methods: tuple[str, ...] = ()
    count: int | None = None
    until: float | None = None
    retry_after: int = 1
    delay: float = 0.0  # "slow": seconds the answer is held after the call took effect

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {', '.join(KINDS)}")
        if self.count is not None and self.count < 0:
            raise ValueError("count must not be negative")
        if self.retry_after < 0:
            raise ValueError("retry_after must not be negative")
        if not 0 <= self.delay <= 600:
            raise ValueError("delay must be 0 to 600 seconds")

    @classmethod
    def parse(cls, body: dict[str, Any], now: float) -> Fault:
        """Build a fault from the control API's JSON; raises ValueError with a readable message."""
        kind = str(body.get("kind", ""))
        methods = body.get("methods") or ()
        if isinstance(methods, str):
            methods = (methods,)
        seconds = body.get("seconds")
        count = body.get("count")
        if count is not None and int(count) < 1:
            raise ValueError("bad fault: count must be at least 1")
        try:
            return cls(
                kind=kind,
                methods=tuple(str(m) for m in methods),
                count=None if count is None else int(count),
                until=None if seconds is None else now + float(seconds),
                retry_after=int(body.get("retry_after", 1)),
                delay=float(body.get("delay") or 0),
            )
        except (TypeError, ValueError) as exc:
            raise ValueError(f"bad fault: {exc}") from None

    def live(self, now: float) -> bool:
        return (self.count is None or self.count > 0) and (self.until is None or now < self.until)

    def hits(self, method: str) -> bool:
        return not self.methods or method in self.methods

    def to_json(self, now: float) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "methods": list(self.methods),
            "count": self.count,
            "seconds_left": None if self.until is None else round(self.until - now, 3),
            "retry_after": self.retry_after,
            "delay": self.delay,
        }


@dataclass
class FaultBook:
    """The active faults; `take` consumes one use of the first live fault that matches."""

    faults: list[Fault] = field(default_factory=list)

    def add(self, fault: Fault) -> None:
        self.faults.append(fault)

    def clear(self) -> None:
        self.faults.clear()

    def take(self, kind: str, method: str, now: float) -> Fault | None:
        self.faults = [f for f in self.faults if f.live(now)]
        for i, fault in enumerate(self.faults):
            if fault.kind == kind and fault.hits(method):
                if fault.count is not None:
                    self.faults[i] = replace(fault, count=fault.count - 1)
                return fault
        return None

    def active(self, kind: str, now: float) -> bool:
        """Whether a fault of `kind` is on, without using it up."""
        return any(f.kind == kind and f.live(now) for f in self.faults)

    def to_json(self, now: float) -> list[dict[str, Any]]:
        return [f.to_json(now) for f in self.faults if f.live(now)]
