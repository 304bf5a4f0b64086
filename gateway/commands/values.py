"""Pure parsers for the values inside commands: times, durations, trace ids, matchers, users."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from chatops import actors
from chatops.userregex import RegexError, compile_regex
from chatops.v1 import alerts_pb2
from gateway.commands.lexer import short


class ValueProblem(ValueError):
    """A value that does not parse; the message says what was wrong and what is expected."""


_TIME_FORMATS = ("%m/%d/%Y-%H:%M:%S", "%m/%d/%Y-%H:%M", "%m/%d/%Y")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_HEX = re.compile(r"^[0-9a-fA-F]+$")
_TRACE_IN_URL = re.compile(r"/trace/([0-9a-fA-F]{16,32})/?$")
_MATCHER = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(=~|!~|!=|=)(.*)$")
_SLACK_USER = re.compile(r"^<@([UW][A-Z0-9]+)>$|^@?([UW][A-Z0-9]{2,})$")


def parse_time(value: str, name: str) -> datetime:
    """`MM/DD/YYYY-HH:MM:SS` (UTC, seconds or time optional) or ISO 8601, as an aware datetime."""
    for fmt in _TIME_FORMATS:
        try:
            return datetime.strptime(value, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueProblem(
            f"`{name}={short(value)}` is not a time; use MM/DD/YYYY-HH:MM:SS in UTC, e.g. 01/02/2026-15:04:05"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_duration(value: str, name: str) -> timedelta:
    """`90s`, `15m`, `1h30m`, `2d`, `500ms` -> timedelta; anything else is a ValueProblem."""
    text = value.strip().lower()
    pos, seconds = 0, 0.0
    while pos < len(text):
        m = _DURATION_PART.match(text, pos)
        if not m:
            break
        seconds += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    if not text or pos != len(text):
        raise ValueProblem(f"`{name}={short(value)}` is not a duration; use e.g. 30s, 15m, 2h, 1h30m or 7d")
    if seconds > 3650 * 86400:
        raise ValueProblem(f"`{name}={short(value)}` is too long; at most ten years")
    return timedelta(seconds=seconds)


def parse_trace_id(value: str) -> str:
    """A trace id of 16 or 32 hex digits, also when pasted as a link to a trace UI."""
    text = value.strip().strip("<>")
    if "|" in text:
        text = text.rsplit("|", 1)[1]
    if "/" in text:
        m = _TRACE_IN_URL.search(urlsplit(text).path if "://" in text else text)
        text = m.group(1) if m else text
    if not _HEX.match(text) or len(text) not in (16, 32):
        raise ValueProblem(f"`{short(value)}` is not a trace id; a trace id is 16 or 32 hex digits")
    return text.lower()


def parse_int(value: str, name: str, low: int, high: int) -> int:
    """A whole number within [low, high]."""
    if not re.fullmatch(r"[+-]?\d{1,9}", value.strip()):
        raise ValueProblem(f"`{name}={short(value)}` must be a whole number from {low} to {high}")
    number = int(value)
    if not low <= number <= high:
        raise ValueProblem(f"`{name}={short(value)}` must be from {low} to {high}")
    return number


def parse_rate(value: str) -> float:
    """A sampling fraction in (0, 1]; `25%` is accepted too."""
    text = value.strip()
    percent = text.endswith("%")
    try:
        rate = float(text.rstrip("%"))
    except ValueError:
        raise ValueProblem(f"`{short(value)}` is not a number; the rate is a fraction like 0.25") from None
    if percent:
        rate /= 100
    if not 0 < rate <= 1:
        raise ValueProblem(f"the rate must be more than 0 and at most 1 (got `{short(value)}`)")
    return rate


def parse_matcher(text: str) -> alerts_pb2.Matcher:
    """`name=value`, `name!=value`, `name=~regex`, `name!~regex` (value optionally quoted)."""
    m = _MATCHER.match(text)
    if not m:
        raise ValueProblem(
            f"`{short(text)}` is not a matcher; write name=value, name!=value, name=~regex or name!~regex"
        )
    name, op, value = m.groups()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        value = value[1:-1]
    if not value:
        raise ValueProblem(f"the matcher `{short(text)}` has no value")
    if "~" in op:
        try:
            compile_regex(value)
        except RegexError as exc:
            raise ValueProblem(f"`{short(value)}` is not a valid regular expression ({exc})") from None
    return alerts_pb2.Matcher(name=name, value=value, is_regex="~" in op, is_equal=op[0] == "=")


def parse_actor(value: str) -> str:
    """`@someone` (a Slack mention), `U024BE7LH` or an actor like `console:alice` -> an actor."""
    m = _SLACK_USER.match(value.strip())
    if m:
        return actors.slack(m.group(1) or m.group(2))
    if actors.is_actor(value.strip()):
        return value.strip()
    raise ValueProblem(
        f"`user={short(value)}` names nobody I know; mention them (user=@someone) or give an actor "
        "like slack:U024BE7LH or console:alice"
    )
