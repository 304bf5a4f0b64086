"""A parsed Web API call and the error answer a method raises."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from slackemu.state import JsonDict

if TYPE_CHECKING:
    from slackemu.core import Emulator


class ApiError(Exception):
    """An `{"ok": false, "error": …}` answer, optionally with an HTTP status and headers."""

    def __init__(
        self,
        error: str,
        status: int = 200,
        headers: dict[str, str] | None = None,
        extra: JsonDict | None = None,
    ) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.headers = headers or {}
        self.extra = extra or {}  # more fields of the answer, e.g. the `errors` of invalid_blocks


@dataclass(frozen=True)
class Call:
    """One Web API call after parsing: the method, who called it, and its arguments."""

    method: str
    token_kind: str
    args: JsonDict

    def text(self, name: str) -> str:
        value = self.args.get(name)
        return "" if value is None else str(value)

    def json_list(self, name: str) -> list[Any] | None:
        """A list argument that form bodies carry as a JSON string (blocks, attachments)."""
        value = self._json(name, f"invalid_{name}")
        if value is not None and not isinstance(value, list):
            raise ApiError(f"invalid_{name}")
        return value

    def json_dict(self, name: str) -> JsonDict | None:
        """An object argument that form bodies carry as a JSON string (metadata)."""
        value = self._json(name, f"invalid_{name}_format")
        if value is not None and not isinstance(value, dict):
            raise ApiError(f"invalid_{name}_format")
        return value

    def _json(self, name: str, error: str) -> Any:
        """The argument as JSON (None when absent or empty); Slack's `error` when it is not JSON."""
        value = self.args.get(name)
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except ValueError:
            raise ApiError(error) from None

    def flag(self, name: str) -> bool:
        """A boolean argument: true, 1 (as Slack reads them)."""
        return str(self.args.get(name, "")).strip().lower() in ("true", "1")


Handler = Callable[["Emulator", Call], Awaitable[JsonDict]]
