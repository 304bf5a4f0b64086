"""A demo regression on purpose: a build that fails a share of its pet calls, as a bad release would."""

from __future__ import annotations

from petstore.errors import PetstoreError


class InjectedFault(PetstoreError):
    """A call failed by the demo regression (gRPC INTERNAL, like a real bug)."""


class Fault:
    """Fails `ratio` of the calls it is asked about, spread evenly, so a run is repeatable."""

    def __init__(self, ratio: float = 0.0) -> None:
        if not 0.0 <= ratio <= 1.0:
            raise ValueError("the fault ratio must be in [0, 1]")
        self.ratio = ratio
        self._due = 0.0

    def check(self) -> None:
        """Raise InjectedFault for this call when its turn has come."""
        if self.ratio <= 0.0:
            return
        self._due += self.ratio
        if self._due >= 1.0 - 1e-9:
            self._due -= 1.0
            raise InjectedFault(
                f"demo regression: this build fails {self.ratio:.0%} of pet calls (PETSTORE_FAULT_RATIO)"
            )
