"""Regular expressions typed by users, compiled with RE2: linear-time matching, as in Prometheus.

Python's `re` backtracks, so one pattern like `(.*.*.*)*!` can pin a process for hours. RE2 (the
engine family behind Go's regexp, which Prometheus and Alertmanager use) matches in time linear in
the text and refuses what it cannot do that way (back-references, look-around), so a filter means
the same here as in Alertmanager. Patterns are fully anchored, like Prometheus label matchers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import re2

MAX_PATTERN = 512  # characters; label matchers are short, and a cap bounds compile time and memory
MAX_PROGRAM_BYTES = 1 << 20  # RE2 refuses patterns whose compiled program needs more


class RegexError(ValueError):
    """A pattern RE2 will not take; the text says why in a few words."""


def _options() -> Any:
    options = re2.Options()
    options.log_errors = False  # the error comes back to the user; RE2's stderr line would be noise
    options.max_mem = MAX_PROGRAM_BYTES
    return options


@dataclass(frozen=True)
class UserRegex:
    """A compiled, fully anchored pattern."""

    pattern: str
    _compiled: Any

    def fullmatch(self, text: str) -> bool:
        """Whether the whole of `text` matches; text that is not valid UTF-8 is matched as replaced."""
        return self._compiled.fullmatch(text.encode("utf-8", "replace")) is not None


def compile_regex(pattern: str) -> UserRegex:
    """Compile a user's pattern with RE2, or raise RegexError saying what is wrong."""
    if len(pattern) > MAX_PATTERN:
        raise RegexError(f"the regular expression is {len(pattern)} characters long; at most {MAX_PATTERN}")
    try:
        raw = pattern.encode("utf-8")
    except UnicodeEncodeError:
        raise RegexError("the regular expression is not valid text (UTF-8)") from None
    try:
        compiled = re2.compile(raw, _options())
    except re2.error as exc:
        raise RegexError(_reason(exc)) from None
    return UserRegex(pattern, compiled)


def _reason(exc: Exception) -> str:
    detail = exc.args[0] if exc.args else ""
    text = detail.decode("utf-8", "replace") if isinstance(detail, bytes) else str(detail)
    if "too large" in text:
        return "the regular expression is too big to match efficiently; make it simpler"
    return text or "RE2 cannot compile it"
