"""The error codes of the bus contract (DESIGN.md): one table for every service and front end."""

from __future__ import annotations

from typing import Final

BAD_REQUEST: Final = 400
FORBIDDEN: Final = 403
NOT_FOUND: Final = 404
CONFLICT: Final = 409  # another change of that thing is under way (a deploy of that service)
INTERNAL: Final = 500
BACKEND_FAILED: Final = 502
BUSY: Final = 503  # too many requests of that command are running already: retry shortly
BACKEND_TIMEOUT: Final = 504

# What each code means, in words a person reads next to the code.
MEANINGS: Final[dict[int, str]] = {
    BAD_REQUEST: "bad request",
    FORBIDDEN: "forbidden (not an admin)",
    NOT_FOUND: "not found",
    CONFLICT: "something else is under way",
    INTERNAL: "internal error",
    BACKEND_FAILED: "a backend failed",
    BUSY: "ops is busy",
    BACKEND_TIMEOUT: "a backend timed out",
}


def meaning(code: int) -> str:
    """`404` -> `not found`; a code outside the contract is `error <code>`."""
    return MEANINGS.get(code, f"error {code}")
