"""What a failed Slack call means for the bus message: retry after a delay, or give up on it."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from nats.errors import Error as NatsError
from slack_sdk.errors import SlackApiError

# Slack errors that say "try again later" even when the HTTP status is 200.
TRANSIENT_ERRORS = frozenset({"internal_error", "fatal_error", "service_unavailable", "request_timeout"})
# chat.update errors after which posting a fresh message is the only way to show the alert.
MESSAGE_GONE = frozenset({"message_not_found", "cant_update_message", "edit_window_closed"})
MAX_BACKOFF = 30.0
# An unexpected error may be a passing fault; after this many attempts it is treated as permanent.
MAX_UNEXPECTED_ATTEMPTS = 10


@dataclass(frozen=True)
class Retry:
    """Try the bus message again after `delay` seconds."""

    delay: float
    reason: str


@dataclass(frozen=True)
class GiveUp:
    """Retrying cannot help; `error` is Slack's error name."""

    error: str


def backoff(attempt: int) -> float:
    """1, 2, 4, … seconds, at most MAX_BACKOFF, for delivery attempt `attempt` (1-based)."""
    return min(MAX_BACKOFF, 2.0 ** max(0, attempt - 1))


def _header(headers: Any, name: str) -> str:
    if isinstance(headers, Mapping):
        for key, value in headers.items():
            if str(key).lower() == name.lower():
                return str(value[0] if isinstance(value, list) and value else value)
    return ""


def classify(exc: BaseException, attempt: int) -> Retry | GiveUp:
    """429 -> Retry-After; 5xx, transient errors and network faults -> back-off; else give up."""
    if isinstance(exc, SlackApiError):
        response = exc.response
        status = int(getattr(response, "status_code", 0) or getattr(response, "status", 0) or 0)
        data = getattr(response, "data", None)
        error = str(data.get("error", "")) if isinstance(data, Mapping) else ""
        if status == 429 or error == "ratelimited":
            raw = _header(getattr(response, "headers", None), "Retry-After")
            after = float(raw) if raw.replace(".", "", 1).isdigit() else 1.0
            return Retry(max(after, 0.5), "ratelimited")
        if status >= 500 or error in TRANSIENT_ERRORS:
            return Retry(backoff(attempt), error or f"http {status}")
        return GiveUp(error or f"http {status}")
    # Network faults towards Slack, and the bus itself (KV writes) failing for a moment.
    if isinstance(exc, aiohttp.ClientError | asyncio.TimeoutError | OSError | NatsError):
        return Retry(backoff(attempt), type(exc).__name__)
    if attempt < MAX_UNEXPECTED_ATTEMPTS:
        return Retry(backoff(attempt), f"{type(exc).__name__}: {exc}")
    return GiveUp(f"{type(exc).__name__}: {exc}")
