"""The seed's alert filter, pure: label matchers ("key", "key=value", "key!=value", "key=~regex").

Regexes are RE2 (chatops.userregex): matching is linear in the label's length whatever the pattern.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from chatops.userregex import RegexError, UserRegex, compile_regex
from ops.errors import bad_request

_FORM = re.compile(r"^(?P<key>[A-Za-z_][A-Za-z0-9_]*)\s*(?:(?P<op>=~|!~|!=|=)\s*(?P<value>.*))?$")
ALLOWED = "key (label present), key=value, key!=value, key=~regex or key!~regex"


@dataclass(frozen=True)
class LabelFilter:
    """One parsed filter; `op` is "" for presence."""

    key: str
    op: str = ""
    value: str = ""
    pattern: UserRegex | None = None

    def matches(self, labels: Mapping[str, str]) -> bool:
        if self.op == "":
            return self.key in labels
        have = labels.get(self.key, "")
        if self.op == "=":
            return have == self.value
        if self.op == "!=":
            return have != self.value
        assert self.pattern is not None
        hit = self.pattern.fullmatch(have)
        return hit if self.op == "=~" else not hit


def parse_filter(text: str) -> LabelFilter:
    """Parse one filter; unknown forms and bad regexes are 400 saying what is allowed."""
    m = _FORM.match(text.strip())
    if not m:
        raise bad_request(f"label filter {_short(text)!r} is not understood; use {ALLOWED}")
    key, op, value = m.group("key"), m.group("op") or "", (m.group("value") or "").strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        value = value[1:-1]
    pattern = None
    if op in ("=~", "!~"):
        try:
            pattern = compile_regex(value)
        except RegexError as exc:
            raise bad_request(f"label filter {_short(text)!r} has a bad regular expression: {exc}") from None
    return LabelFilter(key, op, value, pattern)


def _short(text: str, limit: int = 80) -> str:
    # A 4,000-character filter is not echoed back whole.
    return text if len(text) <= limit else text[: limit - 1] + "…"


def parse_filters(texts: Sequence[str]) -> tuple[LabelFilter, ...]:
    return tuple(parse_filter(t) for t in texts if t.strip())
