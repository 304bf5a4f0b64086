"""Socket Mode: one-time websocket URLs, `hello`, envelopes, acks by envelope_id, redelivery.

As in Slack, one app may hold up to MAX_CONNECTIONS sockets at once (one more is told
`too_many_websockets` and closed), and its envelopes are spread over them: several gateway replicas
each get some. A duplicate (the `socket_duplicate` fault) sends one event on two sockets at the same
moment, the second as a retry, as Slack does when it retries an event on another connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
from collections.abc import Callable
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from chatops import logs
from slackemu import payloads
from slackemu.deliveries import Delivery, DeliveryLog
from slackemu.state import Workspace

log = logs.get_logger(__name__)
TICKET_TTL = 300.0  # seconds a websocket URL from apps.connections.open stays usable
MAX_CONNECTIONS = 10  # Slack's limit per app


class SocketHub:
    """The app's open Socket Mode connections and every envelope sent over them."""

    def __init__(
        self,
        ws: Workspace,
        deliveries: DeliveryLog,
        *,
        ack_timeout: float,
        max_retries: int,
        refuse: Callable[[], bool],
        duplicate: Callable[[], bool] = lambda: False,
    ) -> None:
        self._ws = ws
        self._deliveries = deliveries
        self._ack_timeout = ack_timeout
        self._max_retries = max_retries
        self._refuse = refuse
        self._duplicate = duplicate  # True: this events_api envelope goes out twice (uses up the fault)
        self._tickets: dict[str, float] = {}  # ticket -> when issued; unused ones expire
        self._conns: list[web.WebSocketResponse] = []
        self._draining: set[int] = set()
        self._waiting: list[dict[str, Any]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._sent: dict[str, asyncio.Event] = {}  # envelope_id -> set each time an attempt goes out
        self._turn = 0

    # -- connections ------------------------------------------------------------------------------
    def issue_url(self, ws_base: str) -> str:
        """A one-time websocket URL, as apps.connections.open hands out."""
        ticket = secrets.token_urlsafe(24)
        now = time.monotonic()
        for old in [t for t, at in self._tickets.items() if now - at > TICKET_TTL]:
            del self._tickets[old]
        self._tickets[ticket] = now
        return f"{ws_base}/link/?ticket={ticket}&app_id={self._ws.app_id}"

    @property
    def connections(self) -> int:
        return len(self._conns)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """GET /link/?ticket=…: upgrade to a websocket and serve the app until it goes away."""
        ticket = request.query.get("ticket", "")
        if ticket not in self._tickets:
            return web.json_response({"ok": False, "error": "invalid_ticket"}, status=401)
        if self._refuse():
            return web.json_response({"ok": False, "error": "service_unavailable"}, status=503)
        del self._tickets[ticket]
        sock = web.WebSocketResponse(autoping=True)
        await sock.prepare(request)
        if len([c for c in self._conns if not c.closed]) >= MAX_CONNECTIONS:
            log.warning("socket.too_many", connections=len(self._conns))
            with contextlib.suppress(ConnectionError, RuntimeError):
                await sock.send_json(payloads.disconnect("too_many_websockets"))
            await sock.close(code=WSCloseCode.POLICY_VIOLATION, message=b"too_many_websockets")
            return sock
        self._conns.append(sock)
        log.info("socket.connected", connections=len(self._conns))
        try:
            await sock.send_json(payloads.hello(self._ws, len(self._conns)))
            self._flush()
            async for frame in sock:
                if frame.type == WSMsgType.TEXT:
                    self._on_text(frame.data)
        finally:
            with contextlib.suppress(ValueError):
                self._conns.remove(sock)
            self._draining.discard(id(sock))
            log.info("socket.closed", connections=len(self._conns))
            self._flush()  # anything that failed on this socket goes to another one
        return sock

    def _on_text(self, data: str) -> None:
        try:
            message = json.loads(data)
        except ValueError:
            log.warning("socket.bad_frame", size=len(data))
            return
        envelope_id = message.get("envelope_id") if isinstance(message, dict) else None
        delivery = self._deliveries.get(str(envelope_id)) if envelope_id else None
        if delivery is None:
            log.warning("socket.unknown_ack", envelope_id=envelope_id)
            return
        delivery.acked = True
        payload = message.get("payload")
        delivery.ack_payload = payload if isinstance(payload, dict) else None
        log.info("socket.acked", envelope_id=envelope_id, kind=delivery.kind)

    # -- sending ----------------------------------------------------------------------------------
    def send(self, kind: str, payload: dict[str, Any]) -> Delivery:
        """Send an envelope to one connection; events_api envelopes are redelivered until acked."""
        env = payloads.envelope(kind, payload)
        delivery = self._deliveries.add(Delivery(env["envelope_id"], kind, "socket", payload))
        if kind == "events_api" and self._max_retries > 0:
            self._sent[delivery.id] = asyncio.Event()
            self._spawn(self._redeliver(delivery))
        if kind == "events_api" and self._duplicate() and self._twice(env, delivery):
            return delivery
        self._waiting.append(env)
        self._flush()
        return delivery

    def _twice(self, env: dict[str, Any], delivery: Delivery) -> bool:
        """The envelope on two different sockets at once; False when fewer than two are open."""
        live = [c for c in self._conns if not c.closed and id(c) not in self._draining]
        if len(live) < 2:
            return False
        first, second = live[self._turn % len(live)], live[(self._turn + 1) % len(live)]
        self._turn += 1
        again = payloads.envelope(
            delivery.kind, delivery.payload, retry_attempt=1, retry_reason="timeout", envelope_id=delivery.id
        )
        log.info("socket.duplicate", envelope_id=delivery.id)
        self._spawn(self._send_one(first, env))
        self._spawn(self._send_one(second, again))
        return True

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _pick(self) -> web.WebSocketResponse | None:
        live = [c for c in self._conns if not c.closed and id(c) not in self._draining]
        if not live:
            return None
        self._turn += 1
        return live[self._turn % len(live)]

    def _flush(self) -> None:
        while self._waiting:
            conn = self._pick()
            if conn is None:
                return
            self._spawn(self._send_one(conn, self._waiting.pop(0)))

    async def _send_one(self, conn: web.WebSocketResponse, env: dict[str, Any]) -> None:
        delivery = self._deliveries.get(env["envelope_id"])
        try:
            await conn.send_json(env)
        except (ConnectionError, RuntimeError):
            self._waiting.insert(0, env)  # that socket died under us: wait for the next one
            return
        if delivery is not None:
            delivery.attempt(env.get("retry_attempt", 0), env.get("retry_reason", ""))
        if (sent := self._sent.get(env["envelope_id"])) is not None:
            sent.set()
        log.info(
            "socket.sent",
            envelope_id=env["envelope_id"],
            type=env["type"],
            retry_attempt=env.get("retry_attempt"),
        )

    async def _redeliver(self, delivery: Delivery) -> None:
        sent = self._sent[delivery.id]
        try:
            for attempt in range(1, self._max_retries + 1):
                await sent.wait()  # the ack clock starts when the envelope actually went out
                sent.clear()
                await asyncio.sleep(self._ack_timeout)
                if delivery.acked:
                    return
                self._waiting.append(
                    payloads.envelope(
                        delivery.kind,
                        delivery.payload,
                        retry_attempt=attempt,
                        retry_reason="timeout",
                        envelope_id=delivery.id,
                    )
                )
                self._flush()
        finally:
            self._sent.pop(delivery.id, None)

    # -- faults -----------------------------------------------------------------------------------
    async def drop(self) -> int:
        """Close every connection without warning, as a network failure would."""
        conns = list(self._conns)
        for conn in conns:
            await conn.close(code=WSCloseCode.GOING_AWAY, message=b"dropped by emulator fault")
        return len(conns)

    async def disconnect(self, reason: str) -> int:
        """Send `disconnect` so clients open a fresh connection; nothing more goes to the old one."""
        conns = [c for c in self._conns if not c.closed]
        for conn in conns:
            self._draining.add(id(conn))
            with contextlib.suppress(ConnectionError, RuntimeError):
                await conn.send_json(payloads.disconnect(reason))
        return len(conns)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for conn in list(self._conns):
            await conn.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")
