"""Judging a canary: its server-error ratio in Prometheus, and whether Prometheus sees it at all."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from ops.backends.prometheus import PrometheusBackend, Sample
from ops.errors import OpsError

# gRPC codes that mean the server failed (a client's bad request, NOT_FOUND or INVALID_ARGUMENT, is
# not the release's fault: the demo load sends ~10% of those on purpose, to every version).
SERVER_ERRORS = ("UNKNOWN", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "DEADLINE_EXCEEDED", "UNIMPLEMENTED")


@dataclass(frozen=True)
class Reading:
    """Calls the canary answered in the window, and how many of them were server errors."""

    calls: float
    errors: float

    @property
    def ratio(self) -> float | None:
        return self.errors / self.calls if self.calls > 0 else None


@dataclass(frozen=True)
class Verdict:
    """Whether the canary may be promoted, and the sentence that says why."""

    ok: bool
    reason: str


def reading_from(samples: Sequence[Sample]) -> Reading:
    """`sum by (code) (increase(...))` samples -> calls and server errors (pure)."""
    calls = errors = 0.0
    for s in samples:
        try:
            value = float(s.value)
        except ValueError:
            continue
        if not math.isfinite(value):
            continue
        calls += value
        if dict(s.labels).get("code") in SERVER_ERRORS:
            errors += value
    return Reading(calls, errors)


def too_many_errors(reading: Reading, max_ratio: float, min_calls: int) -> Verdict | None:
    """A bad verdict as soon as enough calls show the ratio over the bar; None while it looks fine."""
    ratio = reading.ratio
    if ratio is None or reading.calls < max(1, min_calls) or ratio <= max_ratio:
        return None
    return Verdict(
        False,
        f"the canary's error ratio {ratio:.1%} crossed {max_ratio:.1%} "
        f"({reading.errors:.0f} of {reading.calls:.0f} calls failed with a server error)",
    )


def final_verdict(
    reading: Reading, seen: bool, instance: str, version: str, max_ratio: float, min_calls: int
) -> Verdict:
    """The decision at the end of the settling window (pure). Too few calls to judge is a no: a canary
    nobody called proves nothing (DEPLOY_MIN_CALLS=0 promotes on health alone)."""
    if not seen:
        return Verdict(
            False,
            f"Prometheus does not see {version} at {instance}: is that address in its scrape config?",
        )
    bad = too_many_errors(reading, max_ratio, min_calls)
    if bad is not None:
        return bad
    if reading.calls < min_calls:
        return Verdict(
            False,
            f"the canary answered only {reading.calls:.0f} calls while it was watched, fewer than the "
            f"{min_calls} needed to judge it (DEPLOY_MIN_CALLS)",
        )
    ratio = reading.ratio
    if ratio is None:
        return Verdict(True, "healthy; it had no calls, and none were needed (DEPLOY_MIN_CALLS=0)")
    return Verdict(True, f"error ratio {ratio:.1%} (at most {max_ratio:.1%}) over {reading.calls:.0f} calls")


class CanaryWatch:
    """Asks Prometheus about one job's instances."""

    def __init__(self, prometheus: PrometheusBackend, job: str) -> None:
        self.prometheus = prometheus
        self.job = job

    async def reading(self, instance: str, seconds: float) -> Reading:
        """Calls and server errors of `instance` over the last `seconds`; OpsError when Prometheus fails."""
        window = max(1, int(seconds))
        query = (
            f'sum by (code) (increase(petstore_requests_total{{job="{self.job}",instance="{instance}"}}'
            f"[{window}s]))"
        )
        return reading_from(await self.prometheus.query(query))

    async def seen(self, instance: str, version: str) -> bool:
        query = f'petstore_build_info{{job="{self.job}",instance="{instance}",version="{version}"}}'
        return bool(await self.prometheus.query(query))

    async def reporting(self, versions: Sequence[str]) -> int | None:
        """How many instances report one of `versions`; None when Prometheus cannot say."""
        try:
            samples = await self.prometheus.query(f'petstore_build_info{{job="{self.job}"}}')
        except OpsError:
            return None
        return len(
            {dict(s.labels).get("instance") for s in samples if dict(s.labels).get("version") in versions}
        )
