"""Prometheus's HTTP API: instant and range queries, and the active alerts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from chatops.errors import BACKEND_FAILED, BACKEND_TIMEOUT, BAD_REQUEST
from ops.backends.http import HttpBackend
from ops.errors import OpsError

NAME = "Prometheus"


@dataclass(frozen=True)
class Sample:
    """One series of an instant vector: its labels and value."""

    labels: tuple[tuple[str, str], ...]
    value: str


@dataclass(frozen=True)
class RangeSeries:
    """One series of a range query: its labels and (unix seconds, value) points in time order."""

    labels: tuple[tuple[str, str], ...]
    points: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class PromAlert:
    """One alert from /api/v1/alerts."""

    labels: tuple[tuple[str, str], ...]
    annotations: tuple[tuple[str, str], ...]
    state: str
    active_at: str  # RFC 3339 as Prometheus sends it
    value: str


class PrometheusBackend(Protocol):
    """What ops asks Prometheus."""

    async def query(self, promql: str) -> list[Sample]: ...

    async def query_range(self, promql: str, start: float, end: float, step: float) -> list[RangeSeries]: ...

    async def alerts(self) -> list[PromAlert]: ...


def _pairs(value: Any) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((str(k), str(v)) for k, v in (value or {}).items()))


def _point(pair: Any) -> tuple[float, float]:
    # Values come as text ("1.5", "NaN", "+Inf"); float() reads all of them.
    return float(pair[0]), float(pair[1])


def _one_line(text: Any) -> str:
    return " ".join(str(text).split())[:300]


class HttpPrometheus:
    """PrometheusBackend over HTTP."""

    def __init__(self, http: HttpBackend) -> None:
        self.http = http

    async def _data(self, path: str, params: dict[str, str] | None, what: str) -> Any:
        answer = await self.http.request("GET", path, params=params)
        body = answer.body
        if answer.status in (400, 422) and isinstance(body, dict):
            # Syntax errors (400) and queries that cannot run (422): Prometheus's own words, one line.
            raise OpsError(BAD_REQUEST, f"{NAME} refused the query: {_one_line(body.get('error', ''))}")
        if answer.status == 503 and isinstance(body, dict) and body.get("errorType") == "timeout":
            raise OpsError(
                BACKEND_TIMEOUT,
                f"{NAME} gave up on the query: {_one_line(body.get('error', ''))}",
                backend=NAME,
            )
        if answer.status != 200 or not isinstance(body, dict) or body.get("status") != "success":
            raise self.http.failed(answer, what)
        return body.get("data")

    async def query(self, promql: str) -> list[Sample]:
        data = await self._data("/api/v1/query", {"query": promql}, "run a query")
        if not isinstance(data, dict) or data.get("resultType") != "vector":
            return []
        return [
            Sample(_pairs(r.get("metric")), str((r.get("value") or [0, ""])[1]))
            for r in data.get("result") or []
        ]

    async def query_range(self, promql: str, start: float, end: float, step: float) -> list[RangeSeries]:
        params = {"query": promql, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step:g}"}
        data = await self._data("/api/v1/query_range", params, "run a range query")
        if not isinstance(data, dict) or data.get("resultType") != "matrix":
            return []
        try:
            return [
                RangeSeries(_pairs(r.get("metric")), tuple(_point(p) for p in r.get("values") or []))
                for r in data.get("result") or []
            ]
        except (TypeError, ValueError, IndexError, AttributeError):
            raise OpsError(
                BACKEND_FAILED, f"{NAME} sent a range result I cannot read", backend=NAME
            ) from None

    async def alerts(self) -> list[PromAlert]:
        data = await self._data("/api/v1/alerts", None, "list alerts")
        return [
            PromAlert(
                _pairs(a.get("labels")),
                _pairs(a.get("annotations")),
                str(a.get("state", "")),
                str(a.get("activeAt", "")),
                str(a.get("value", "")),
            )
            for a in (data or {}).get("alerts") or []
        ]
