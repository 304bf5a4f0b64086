"""Prometheus's HTTP API: instant queries and the active alerts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from chatops.errors import BAD_REQUEST
from ops.backends.http import HttpBackend
from ops.errors import OpsError

NAME = "Prometheus"


@dataclass(frozen=True)
class Sample:
    """One series of an instant vector: its labels and value."""

    labels: tuple[tuple[str, str], ...]
    value: str


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

    async def alerts(self) -> list[PromAlert]: ...


def _pairs(value: Any) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((str(k), str(v)) for k, v in (value or {}).items()))


class HttpPrometheus:
    """PrometheusBackend over HTTP."""

    def __init__(self, http: HttpBackend) -> None:
        self.http = http

    async def _data(self, path: str, params: dict[str, str] | None, what: str) -> Any:
        answer = await self.http.request("GET", path, params=params)
        body = answer.body
        if answer.status == 400 and isinstance(body, dict):
            raise OpsError(BAD_REQUEST, f"{NAME} refused the query: {body.get('error', '')}")
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
