"""What a failed delivery attempt means: try again after a delay, wait for a person to fix Slack's
side (a stall), or give up on the notification (it goes to the dead letters)."""

from __future__ import annotations

from dataclasses import dataclass

from nats.errors import Error as NatsError

from gateway.alerts.poster import Undeliverable
from gateway.slack.chat import ChatError, Failure

# An unexpected error may be a passing fault; after this many attempts it is treated as permanent.
MAX_UNEXPECTED_ATTEMPTS = 10
EVERYWHERE = "*"  # the stall scope of a token that works nowhere
HINTS = {
    "not_in_channel": "invite the bot to the channel",
    "channel_not_found": "check SLACK_ONCALL_CHANNEL and SLACK_ALERT_ROUTES",
    "is_archived": "unarchive the channel or route its alerts elsewhere",
    "missing_scope": "give the app the scope and reinstall it",
}
TOKEN_HINT = "reinstall the app or set a new SLACK_BOT_TOKEN"


@dataclass(frozen=True)
class Backoff:
    """first, 2×first, 4×first, … seconds, at most `most`."""

    first: float = 1.0
    most: float = 30.0

    def __post_init__(self) -> None:
        if not 0 < self.first <= self.most:
            raise ValueError("backoff: need 0 < first <= most")

    def delay(self, attempt: int) -> float:
        """The wait after failed attempt `attempt` (1-based)."""
        return min(self.most, self.first * 2.0 ** max(0, attempt - 1))


@dataclass(frozen=True)
class Retry:
    """Try again after `delay` seconds; `paced`: only told to wait (a rate limit), nothing failed."""

    delay: float
    reason: str
    paced: bool = False


@dataclass(frozen=True)
class Stall:
    """Slack refuses until a person changes something: every notification for `scope` (a channel,
    or EVERYWHERE for the token) waits, and one tries now and then; `error` is Slack's word."""

    scope: str
    error: str
    reason: str


@dataclass(frozen=True)
class GiveUp:
    """Retrying cannot help; `error` is one word for it, `reason` says it in full."""

    error: str
    reason: str


def stall_of(exc: ChatError, channel: str) -> Stall:
    if exc.failure is Failure.AUTH:
        return Stall(EVERYWHERE, exc.detail, f"Slack refuses the bot's token ({exc.detail}): {TOKEN_HINT}")
    hint = HINTS.get(exc.detail, "see Slack's error and the gateway's log")
    return Stall(channel, exc.detail, f"Slack answers {exc.detail} for {channel}: {hint}")


def classify(exc: BaseException, attempt: int, channel: str, backoff: Backoff) -> Retry | Stall | GiveUp:
    """Rate limits wait as told; a moment's failure backs off; a refusal stalls; a message that no
    form of it is taken gives up."""
    if isinstance(exc, Undeliverable):
        return GiveUp(exc.error, str(exc))
    if isinstance(exc, ChatError):
        if exc.failure is Failure.RATE_LIMITED:
            return Retry(max(exc.retry_after, 0.5), exc.detail, paced=True)
        if exc.failure is Failure.UNAVAILABLE:
            return Retry(backoff.delay(attempt), exc.detail)
        # CHANNEL, AUTH, and refusals not known here: dropping a page is worse than waiting.
        return stall_of(exc, channel)
    # The bus itself (KV writes) failing for a moment.
    if isinstance(exc, TimeoutError | OSError | NatsError):
        return Retry(backoff.delay(attempt), type(exc).__name__)
    if attempt < MAX_UNEXPECTED_ATTEMPTS:
        return Retry(backoff.delay(attempt), f"{type(exc).__name__}: {exc}")
    return GiveUp("unexpected", f"{type(exc).__name__}: {exc}")
