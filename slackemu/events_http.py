"""Events API over HTTP: signed POSTs to the app's request URL, retries, url_verification."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
import uuid
from typing import Any
from urllib.parse import urlencode

import aiohttp

from chatops import logs
from slackemu import payloads
from slackemu.deliveries import Delivery, DeliveryLog

log = logs.get_logger(__name__)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """Slack's v0 signature: HMAC-SHA256 over "v0:<timestamp>:<body>", hex, prefixed "v0="."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


class HttpEvents:
    """Sends events and interactions to the request URL the way Slack does."""

    def __init__(
        self,
        deliveries: DeliveryLog,
        *,
        signing_secret: str,
        verification_token: str,
        timeout: float,
        max_retries: int,
        retry_delay: float,
    ) -> None:
        self._deliveries = deliveries
        self._secret = signing_secret
        self._verification_token = verification_token
        self._timeout = timeout
        self._max_retries = max_retries
        self._retry_delay = retry_delay
        self._session: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self._timeout))
        return self._session

    async def _post(
        self, url: str, body: bytes, content_type: str, retry: tuple[int, str] | None
    ) -> tuple[int, str]:
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": content_type,
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": sign(self._secret, timestamp, body),
        }
        if retry is not None:
            headers["X-Slack-Retry-Num"] = str(retry[0])
            headers["X-Slack-Retry-Reason"] = retry[1]
        async with self._client().post(url, data=body, headers=headers) as resp:
            return resp.status, await resp.text()

    def send(self, url: str, kind: str, payload: dict[str, Any]) -> Delivery:
        """POST an event_callback (JSON, retried) or an interaction (form `payload=`, not retried)."""
        delivery = self._deliveries.add(Delivery(str(uuid.uuid4()), kind, "http", payload))
        task = asyncio.get_running_loop().create_task(self._deliver(url, delivery))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return delivery

    async def _deliver(self, url: str, delivery: Delivery) -> None:
        if delivery.kind == "events_api":
            body = json.dumps(delivery.payload).encode()
            content_type, retries = "application/json", self._max_retries
        else:
            body = urlencode({"payload": json.dumps(delivery.payload)}).encode()
            content_type, retries = "application/x-www-form-urlencoded", 0
        retry: tuple[int, str] | None = None
        for attempt in range(retries + 1):
            try:
                status, text = await self._post(url, body, content_type, retry)
            except TimeoutError:
                reason, status, text = "http_timeout", 0, ""
            except aiohttp.ClientError as exc:
                reason, status, text = "connection_failed", 0, type(exc).__name__
            else:
                reason = "" if 200 <= status < 300 else "http_error"
            delivery.attempt(attempt, retry[1] if retry else "", status=status, outcome=reason or "ok")
            log.info(
                "http.delivered",
                id=delivery.id,
                kind=delivery.kind,
                attempt=attempt,
                status=status,
                outcome=reason or "ok",
            )
            if not reason:
                delivery.acked = True
                delivery.ack_payload = _as_json(text)
                return
            retry = (attempt + 1, reason)
            if attempt < retries:
                await asyncio.sleep(self._retry_delay)

    async def verify(self, url: str) -> dict[str, Any]:
        """Send the url_verification challenge; the app must echo it back."""
        challenge = payloads.url_verification(self._verification_token)
        try:
            status, text = await self._post(url, json.dumps(challenge).encode(), "application/json", None)
        except (TimeoutError, aiohttp.ClientError) as exc:
            return {"ok": False, "status": 0, "error": type(exc).__name__}
        answer = _as_json(text)
        echoed = (answer or {}).get("challenge") == challenge["challenge"] or text == challenge["challenge"]
        return {
            "ok": status == 200 and echoed,
            "status": status,
            "error": None if echoed else "challenge_failed",
        }

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._session is not None:
            await self._session.close()


def _as_json(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
