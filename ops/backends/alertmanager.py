"""Alertmanager's v2 API: create a silence; list silences, alerts, and when it started (the watcher)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from chatops.errors import BAD_REQUEST
from ops.backends.http import HttpBackend
from ops.errors import OpsError

NAME = "Alertmanager"


@dataclass(frozen=True)
class SilenceMatcher:
    """One matcher as Alertmanager stores it."""

    name: str
    value: str
    is_regex: bool = False
    is_equal: bool = True


@dataclass(frozen=True)
class NewSilence:
    """A silence to create; times in RFC 3339."""

    matchers: tuple[SilenceMatcher, ...]
    starts_at: str
    ends_at: str
    created_by: str
    comment: str


@dataclass(frozen=True)
class Silence:
    """A silence as Alertmanager lists it; times are aware datetimes."""

    id: str
    matchers: tuple[SilenceMatcher, ...]
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str
    state: str  # pending, active, expired


@dataclass(frozen=True)
class AmAlert:
    """An alert Alertmanager holds (a resolved one is no longer listed)."""

    fingerprint: str
    labels: tuple[tuple[str, str], ...]
    starts_at: datetime
    silenced_by: tuple[str, ...]


class AlertmanagerBackend(Protocol):
    """What ops asks Alertmanager."""

    async def create_silence(self, silence: NewSilence) -> str:
        """Returns the new silence's id."""
        ...

    async def silences(self) -> list[Silence]:
        """Every silence it keeps: pending, active, and expired within its retention."""
        ...

    async def alerts(self) -> list[AmAlert]:
        """Every alert it holds that has not resolved, silenced and inhibited ones included."""
        ...

    async def started_at(self) -> datetime:
        """When this Alertmanager started (a young one has lost the alerts it held before)."""
        ...


def rfc3339(text: Any) -> datetime:
    """Alertmanager's time (`2026-11-30T00:32:52.143Z`) as an aware datetime."""
    return datetime.fromisoformat(str(text).replace("Z", "+00:00"))


def _silence(item: Any) -> Silence:
    return Silence(
        id=str(item["id"]),
        matchers=tuple(
            SilenceMatcher(
                str(m["name"]), str(m["value"]), bool(m.get("isRegex")), bool(m.get("isEqual", True))
            )
            for m in item.get("matchers") or []
        ),
        starts_at=rfc3339(item["startsAt"]),
        ends_at=rfc3339(item["endsAt"]),
        created_by=str(item.get("createdBy", "")),
        comment=str(item.get("comment", "")),
        state=str((item.get("status") or {}).get("state", "")),
    )


def _alert(item: Any) -> AmAlert:
    return AmAlert(
        fingerprint=str(item["fingerprint"]),
        labels=tuple(sorted((str(k), str(v)) for k, v in (item.get("labels") or {}).items())),
        starts_at=rfc3339(item["startsAt"]),
        silenced_by=tuple(str(s) for s in (item.get("status") or {}).get("silencedBy") or []),
    )


class HttpAlertmanager:
    """AlertmanagerBackend over HTTP."""

    def __init__(self, http: HttpBackend) -> None:
        self.http = http

    async def create_silence(self, silence: NewSilence) -> str:
        body = {
            "matchers": [
                {"name": m.name, "value": m.value, "isRegex": m.is_regex, "isEqual": m.is_equal}
                for m in silence.matchers
            ],
            "startsAt": silence.starts_at,
            "endsAt": silence.ends_at,
            "createdBy": silence.created_by,
            "comment": silence.comment,
        }
        answer = await self.http.request("POST", "/api/v2/silences", body=body)
        if answer.status == 400:
            # Alertmanager explains what it refused (e.g. a bad regex); that is the user's to fix.
            raise OpsError(BAD_REQUEST, f"{NAME} refused the silence: {answer.text.strip()[:300]}")
        if answer.status != 200 or not isinstance(answer.body, dict) or "silenceID" not in answer.body:
            raise self.http.failed(answer, "create the silence")
        return str(answer.body["silenceID"])

    async def silences(self) -> list[Silence]:
        answer = await self.http.request("GET", "/api/v2/silences")
        if answer.status != 200 or not isinstance(answer.body, list):
            raise self.http.failed(answer, "list the silences")
        return [_silence(item) for item in answer.body]

    async def alerts(self) -> list[AmAlert]:
        params = {"active": "true", "silenced": "true", "inhibited": "true", "unprocessed": "true"}
        answer = await self.http.request("GET", "/api/v2/alerts", params=params)
        if answer.status != 200 or not isinstance(answer.body, list):
            raise self.http.failed(answer, "list the alerts")
        return [_alert(item) for item in answer.body]

    async def started_at(self) -> datetime:
        answer = await self.http.request("GET", "/api/v2/status")
        if answer.status != 200 or not isinstance(answer.body, dict) or "uptime" not in answer.body:
            raise self.http.failed(answer, "say its status")
        return rfc3339(answer.body["uptime"])
