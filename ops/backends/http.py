"""JSON over HTTP to a named backend, with a deadline, trace propagation, and 502/504 naming the backend."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import aiohttp

from chatops import redact
from chatops.errors import BACKEND_FAILED, BACKEND_TIMEOUT
from ops.errors import OpsError
from ops.tracing import TRACEPARENT, client_span, traceparent


@dataclass(frozen=True)
class HttpAnswer:
    """A backend's HTTP status and parsed JSON body (None when the body is not JSON)."""

    status: int
    body: Any
    text: str


@dataclass
class HttpBackend:
    """One backend reached over HTTP: `name` is what users read in error messages."""

    name: str
    base_url: str
    session: aiohttp.ClientSession
    timeout: float

    async def request(
        self, method: str, path: str, *, params: dict[str, str] | None = None, body: Any = None
    ) -> HttpAnswer:
        """Send one request; timeouts become 504 and transport faults 502, both naming the backend."""
        url = self.base_url.rstrip("/") + path
        with client_span(f"{self.name} {method} {path}"):
            headers: dict[str, str] = {"Accept": "application/json"}
            if parent := traceparent():
                headers[TRACEPARENT] = parent
            data = None
            if body is not None:
                data = json.dumps(body).encode()
                headers["Content-Type"] = "application/json"
            try:
                async with asyncio.timeout(self.timeout):
                    async with self.session.request(
                        method, url, params=params, data=data, headers=headers
                    ) as resp:
                        text = await resp.text(errors="replace")
                        return HttpAnswer(resp.status, _json_or_none(text), text)
            except TimeoutError:
                raise OpsError(
                    BACKEND_TIMEOUT, f"{self.name} did not answer within {self.timeout:g}s", backend=self.name
                ) from None
            except aiohttp.ClientError as exc:
                raise OpsError(
                    BACKEND_FAILED,
                    f"{self.name} is unreachable at {redact.url(self.base_url)}: {redact.text(str(exc))}",
                    backend=self.name,
                ) from None

    def failed(self, answer: HttpAnswer, what: str) -> OpsError:
        """A 502 for an unexpected answer, quoting a little of the backend's own message."""
        detail = answer.text.strip().replace("\n", " ")[:200] or "(empty body)"
        return OpsError(
            BACKEND_FAILED, f"{self.name} failed to {what}: HTTP {answer.status}: {detail}", backend=self.name
        )


def _json_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return None
