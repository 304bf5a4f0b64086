"""Durations written the way people type them in chat: `15s`, `1h30m`, `7d` (shared by ops and gateway)."""

from __future__ import annotations

from datetime import timedelta


def duration_text(span: timedelta) -> str:
    """`1h`, `30m`, `1h30m`, `7d`, `15s`, `1.5s`; the inverse of the chat grammar's durations."""
    seconds = span.total_seconds()
    if seconds < 60 and seconds != int(seconds):
        return f"{seconds:g}s"
    whole = int(seconds)
    out = ""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, whole = divmod(whole, size)
        if count:
            out += f"{count}{unit}"
    return out or "0s"
