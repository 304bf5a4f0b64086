"""Parse a chat text at a fixed moment and insist on what it should become: a request or a usage error."""

from __future__ import annotations

from datetime import UTC, datetime

from gateway.commands import Request, UsageError, parse

NOW = datetime(2026, 3, 4, 12, 0, 0, tzinfo=UTC)


def ok(text: str) -> Request:
    parsed = parse(text, now=NOW)
    assert isinstance(parsed, Request), getattr(parsed, "text", parsed)
    return parsed


def bad(text: str) -> UsageError:
    parsed = parse(text, now=NOW)
    assert isinstance(parsed, UsageError), parsed
    return parsed
