"""Alertmanager's v2 API: create a silence."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

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


class AlertmanagerBackend(Protocol):
    """What ops asks Alertmanager."""

    async def create_silence(self, silence: NewSilence) -> str:
        """Returns the new silence's id."""
        ...


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
