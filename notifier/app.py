"""The notifier's HTTP face: POST /alerts, GET /healthz, GET /metrics."""

from __future__ import annotations

import asyncio
import hmac
from datetime import UTC, datetime

from aiohttp import web

from chatops import codec, logs
from chatops.health import add_health_routes, bus_gauge
from chatops.subjects import alert_subject
from notifier.metrics import NotifierMetrics
from notifier.publisher import Publisher, PublishUnavailable
from notifier.webhook import PayloadError, content_id, parse_payload, to_notification

log = logs.get_logger(__name__)
HEADER_ROOM = 1024  # the Nats-Msg-Id header travels in the same message

PUBLISHER: web.AppKey[Publisher] = web.AppKey("publisher", Publisher)
METRICS: web.AppKey[NotifierMetrics] = web.AppKey("metrics", NotifierMetrics)
TOKEN: web.AppKey[bytes] = web.AppKey("token", bytes)
MAX_BODY: web.AppKey[int] = web.AppKey("max_body", int)
PARSING: web.AppKey[asyncio.Semaphore] = web.AppKey("parsing", asyncio.Semaphore)
PARALLEL_PARSES = 4  # bodies read and parsed at once: memory stays bounded under a flood of big ones


def authorized(header: str | None, token: bytes) -> bool:
    """True when `header` is `Bearer <token>`; compared in constant time."""
    scheme, _, given = (header or "").partition(" ")
    if scheme.lower() != "bearer":
        # Still compare, so a wrong scheme costs the same as a wrong token.
        hmac.compare_digest(token, token)
        return False
    return hmac.compare_digest(given.strip().encode(), token)


def _refuse(metrics: NotifierMetrics, status: int, reason: str, message: str) -> web.Response:
    metrics.rejected.labels(reason=reason).inc()
    log.warning("alerts.rejected", status=status, reason=reason, detail=message)
    headers = {"WWW-Authenticate": 'Bearer realm="chatops-notifier"'} if status == 401 else None
    return web.json_response({"error": message}, status=status, headers=headers)


async def post_alerts(request: web.Request) -> web.Response:
    """Validate one webhook notification, store it in JetStream, and only then answer 200."""
    app = request.app
    metrics = app[METRICS]
    metrics.received.inc()
    if not authorized(request.headers.get("Authorization"), app[TOKEN]):
        return _refuse(metrics, 401, "unauthorized", "missing or wrong bearer token")
    limit = app[MAX_BODY]
    if request.content_length is not None and request.content_length > limit:
        return _refuse(metrics, 413, "too_large", f"body over {limit} bytes")
    async with app[PARSING]:
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return _refuse(metrics, 413, "too_large", f"body over {limit} bytes")
        try:
            payload = parse_payload(body)
        except PayloadError as exc:
            return _refuse(metrics, 400, "invalid", f"not an Alertmanager v4 webhook: {exc}")
        del body
        note = to_notification(payload)
    note.notification_id = content_id(note)
    note.received_at.FromDatetime(datetime.now(UTC))
    subject = alert_subject(note.status, note.severity)
    data = codec.encode(note)
    room = app[PUBLISHER].max_payload - HEADER_ROOM
    if len(data) > room:
        # Alertmanager does not retry a 4xx: say clearly why, so max_alerts can be lowered.
        return _refuse(
            metrics, 413, "too_large", f"the notification is {len(data)} bytes; the bus takes at most {room}"
        )
    try:
        duplicate = await app[PUBLISHER].publish(subject, data, note.notification_id)
    except PublishUnavailable as exc:
        return _refuse(metrics, 503, "unavailable", f"cannot store the notification now ({exc})")
    if duplicate:
        metrics.duplicates.inc()
    else:
        metrics.published.inc()
    log.info(
        "alerts.stored",
        subject=subject,
        group_key=note.group_key,
        alerts=len(note.alerts),
        id=note.notification_id[:16],
        duplicate=duplicate,
    )
    return web.json_response({"status": "stored", "id": note.notification_id, "duplicate": duplicate})


def make_app(publisher: Publisher, *, token: str, max_body: int, metrics: NotifierMetrics) -> web.Application:
    """Build the aiohttp application around a publisher."""
    app = web.Application(client_max_size=max_body)
    app[PUBLISHER] = publisher
    app[METRICS] = metrics
    app[TOKEN] = token.encode()
    app[MAX_BODY] = max_body
    app[PARSING] = asyncio.Semaphore(PARALLEL_PARSES)
    app.router.add_post("/alerts", post_alerts)
    # 503 while NATS is down, so a load balancer skips a notifier that could not store alerts.
    add_health_routes(app, metrics.registry, lambda: "" if publisher.connected else "NATS disconnected")
    bus_gauge(metrics.registry, lambda: publisher.connected)
    return app
