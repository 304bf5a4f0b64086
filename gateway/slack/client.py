"""slack_sdk's Web API client, counting every call that fails for good (after its own retries); and
bolt's client for each event made one of those too."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
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

    def like(self, other: AsyncWebClient) -> CountingWebClient:
        """`other` (its token, team, session, retries, …) counting failures where this client does."""
        return CountingWebClient(
            failed=self._failed,
            token=other.token,
            base_url=other.base_url,
            timeout=other.timeout,
            ssl=other.ssl,
            proxy=other.proxy,
            session=other.session,
            trust_env_in_session=other.trust_env_in_session,
            headers=other.headers,
            team_id=other.default_params.get("team_id"),
            logger=other.logger,
            retry_handlers=other.retry_handlers,
        )


class CountEventCalls(AsyncMiddleware):
    """bolt gives each event a Web API client of its own (`context.client`), built from the app's but of
    slack_sdk's plain class: its authorization's auth.test, and `say`, go through it. Run before
    authorization, this makes that client a counting copy, so those failures are counted too."""

    def __init__(self, client: CountingWebClient) -> None:
        self._client = client

    async def async_process(
        self,
        *,
        req: AsyncBoltRequest,
        resp: BoltResponse,
        next: Callable[[], Awaitable[BoltResponse]],
    ) -> BoltResponse:
        req.context["client"] = self._client.like(req.context.client)
        return await next()
