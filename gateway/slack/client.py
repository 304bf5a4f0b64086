"""slack_sdk's Web API client, counting every call that fails for good (after its own retries)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

# (Web API method, Slack's error name or the exception's type) -> nothing; e.g. a metrics counter.
Failed = Callable[[str, str], None]


def error_name(exc: SlackApiError) -> str:
    """Slack's `error` field, or `http <status>` when the answer had none."""
    response = exc.response
    data = getattr(response, "data", None)
    error = data.get("error") if isinstance(data, dict) else None
    return str(error) if error else f"http {getattr(response, 'status_code', 0)}"


class CountingWebClient(AsyncWebClient):
    """Every chat.postMessage, chat.update, users.info, … goes through `api_call`: one place to count."""

    def __init__(self, *, failed: Failed, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._failed = failed

    async def api_call(self, api_method: str, *args: Any, **kwargs: Any) -> AsyncSlackResponse:
        try:
            return await super().api_call(api_method, *args, **kwargs)
        except SlackApiError as exc:
            self._failed(api_method, error_name(exc))
            raise
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            self._failed(api_method, type(exc).__name__)
            raise
