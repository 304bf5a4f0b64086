"""What a failed delivery means for the bus message: retry after a delay, or give up on it."""

from __future__ import annotations

from dataclasses import dataclass

from nats.errors import Error as NatsError

from gateway.slack.chat import ChatError, Failure

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
    """Retrying cannot help; `error` says why."""

    error: str


def backoff(attempt: int) -> float:
    """1, 2, 4, … seconds, at most MAX_BACKOFF, for delivery attempt `attempt` (1-based)."""
    return min(MAX_BACKOFF, 2.0 ** max(0, attempt - 1))


def classify(exc: BaseException, attempt: int) -> Retry | GiveUp:
    """Rate limits wait as told; the chat or the bus failing for a moment backs off; a refusal gives up."""
    if isinstance(exc, ChatError):
        if exc.failure is Failure.RATE_LIMITED:
            return Retry(max(exc.retry_after, 0.5), exc.detail)
        if exc.failure is Failure.UNAVAILABLE:
            return Retry(backoff(attempt), exc.detail)
        return GiveUp(exc.detail)
    # The bus itself (KV writes) failing for a moment.
    if isinstance(exc, TimeoutError | OSError | NatsError):
        return Retry(backoff(attempt), type(exc).__name__)
    if attempt < MAX_UNEXPECTED_ATTEMPTS:
        return Retry(backoff(attempt), f"{type(exc).__name__}: {exc}")
    return GiveUp(f"{type(exc).__name__}: {exc}")
