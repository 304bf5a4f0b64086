"""Structured logging: one event name and key=value fields per line, secrets redacted."""

from __future__ import annotations

import logging
import sys
from typing import Any

from chatops import redact as _redact

_SECRET_KEYS = ("token", "secret", "password", "authorization", "seed", "creds")


def redact(text: str) -> str:
    """Blank out Slack tokens, nkey seeds and the user:password of any URL (see chatops.redact)."""
    return _redact.text(text)


def _format_value(key: str, value: Any) -> str:
    if any(s in key.lower() for s in _SECRET_KEYS):
        return "[redacted]"
    text = redact(str(value))
    if text == "" or any(c in text for c in ' "=\n'):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    return text


def format_event(event: str, fields: dict[str, Any]) -> str:
    """`event key=value ...`, values quoted when they need it."""
    parts = [event]
    parts.extend(f"{k}={_format_value(k, v)}" for k, v in fields.items() if v is not None)
    return " ".join(parts)


class Logger:
    """A thin structured front on a stdlib logger: `log.info("event", key=value)`."""

    def __init__(self, name: str) -> None:
        self._log = logging.getLogger(name)

    def _emit(self, level: int, event: str, fields: dict[str, Any], exc_info: bool = False) -> None:
        if self._log.isEnabledFor(level):
            self._log.log(level, format_event(event, fields), exc_info=exc_info)

    def debug(self, event: str, **fields: Any) -> None:
        self._emit(logging.DEBUG, event, fields)

    def info(self, event: str, **fields: Any) -> None:
        self._emit(logging.INFO, event, fields)

    def warning(self, event: str, **fields: Any) -> None:
        self._emit(logging.WARNING, event, fields)

    def error(self, event: str, **fields: Any) -> None:
        self._emit(logging.ERROR, event, fields)

    def exception(self, event: str, **fields: Any) -> None:
        self._emit(logging.ERROR, event, fields, exc_info=True)


def get_logger(name: str) -> Logger:
    return Logger(name)


class _RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def setup(level: str = "INFO", component: str = "chatops") -> None:
    """Configure the root logger once per process: time, level, component, message."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_RedactingFormatter(f"%(asctime)s %(levelname)s {component} %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Libraries that print whole payloads (tokens included) at DEBUG stay at WARNING.
    for noisy in ("slack_bolt", "slack_sdk", "aiohttp.access", "nats"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
