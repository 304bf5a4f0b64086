"""POST /alerts against a real nats-server: what is stored, what is refused, and what is counted."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from nats.aio.client import Client

from chatops import codec
from chatops.streams import provision
from chatops.subjects import ALERTS_STREAM, H_MSG_ID
from chatops.v1.events_pb2 import AlertNotification
from notifier.app import make_app
from notifier.metrics import NotifierMetrics
from notifier.publisher import JetStreamPublisher
from tools.harness.servers import NatsServer
from tools.harness.wait import eventually

FIXTURES = Path(__file__).parent.parent / "fixtures" / "alertmanager"
TOKEN = "test-notifier-token-0123"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


class Notifier:
    """A notifier app on a loopback port, its metrics, and an HTTP session to call it."""

    def __init__(self, server: TestServer, metrics: NotifierMetrics, session: aiohttp.ClientSession) -> None:
        self.server = server
        self.metrics = metrics
        self.session = session

    def url(self, path: str) -> str:
        return str(self.server.make_url(path))

    async def post(self, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, dict[str, object]]:
        hdrs = {"Content-Type": "application/json", **(AUTH if headers is None else headers)}
        async with self.session.post(self.url("/alerts"), data=body, headers=hdrs) as resp:
            return resp.status, await resp.json()

    async def metric(self, name: str) -> float:
        async with self.session.get(self.url("/metrics")) as resp:
            text = await resp.text()
        for line in text.splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                return float(line.rsplit(" ", 1)[1])
        raise AssertionError(f"{name} not in /metrics")


@pytest.fixture
async def notifier(nc: Client) -> AsyncIterator[Notifier]:
    await provision(nc.jetstream())
    metrics = NotifierMetrics()
    app = make_app(JetStreamPublisher(nc), token=TOKEN, max_body=64 * 1024, metrics=metrics)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    session = aiohttp.ClientSession()
    try:
        yield Notifier(server, metrics, session)
    finally:
        await session.close()
        await server.close()


async def stored(nc: Client) -> list[tuple[str, dict[str, str], AlertNotification]]:
    js = nc.jetstream()
    info = await js.stream_info(ALERTS_STREAM)
    out = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        if info.state.messages == 0:
            break
        msg = await js.get_msg(ALERTS_STREAM, seq)
        assert msg.subject is not None and msg.data is not None
        out.append((msg.subject, dict(msg.headers or {}), codec.decode(msg.data, AlertNotification)))
    return out


@pytest.mark.parametrize(
    ("fixture", "subject"),
    [
        ("webhook-01-firing-AlwaysFiring.json", "chatops.alerts.firing.none"),
        ("webhook-02-firing-ShortLived.json", "chatops.alerts.firing.info"),
        ("webhook-03-firing-Multi.json", "chatops.alerts.firing.none"),
        ("webhook-04-resolved-ShortLived.json", "chatops.alerts.resolved.info"),
    ],
)
async def test_fixture_is_stored_on_its_subject(
    notifier: Notifier, nc: Client, fixture: str, subject: str
) -> None:
    body = (FIXTURES / fixture).read_bytes()
    status, answer = await notifier.post(body)
    assert status == 200, answer
    assert answer["duplicate"] is False
    [(subj, headers, note)] = await stored(nc)
    raw = json.loads(body)
    assert subj == subject
    assert note.group_key == raw["groupKey"]
    assert [a.fingerprint for a in note.alerts] == [a["fingerprint"] for a in raw["alerts"]]
    assert headers[H_MSG_ID] == note.notification_id == answer["id"]
    assert note.HasField("received_at")
    assert await notifier.metric("chatops_notifier_published_total") == 1


async def test_same_payload_twice_is_stored_once(notifier: Notifier, nc: Client) -> None:
    body = (FIXTURES / "webhook-01-firing-AlwaysFiring.json").read_bytes()
    first = await notifier.post(body)
    second = await notifier.post(body)
    assert first[0] == second[0] == 200
    assert second[1]["duplicate"] is True
    assert len(await stored(nc)) == 1
    assert await notifier.metric("chatops_notifier_published_total") == 1
    assert await notifier.metric("chatops_notifier_duplicates_total") == 1
    assert await notifier.metric("chatops_notifier_received_total") == 2


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": f"Bearer {TOKEN}x"},
    ],
)
async def test_bad_token_is_401_and_nothing_stored(
    notifier: Notifier, nc: Client, headers: dict[str, str]
) -> None:
    body = (FIXTURES / "webhook-01-firing-AlwaysFiring.json").read_bytes()
    status, answer = await notifier.post(body, headers)
    assert status == 401
    assert TOKEN not in json.dumps(answer)
    assert await stored(nc) == []
    assert await notifier.metric('chatops_notifier_rejected_total{reason="unauthorized"}') == 1


async def test_huge_body_is_413_and_nothing_stored(notifier: Notifier, nc: Client) -> None:
    raw = json.loads((FIXTURES / "webhook-01-firing-AlwaysFiring.json").read_bytes())
    raw["commonAnnotations"]["description"] = "x" * (100 * 1024)
    status, _ = await notifier.post(json.dumps(raw).encode())
    assert status == 413
    assert await stored(nc) == []
    assert await notifier.metric('chatops_notifier_rejected_total{reason="too_large"}') == 1


async def test_huge_chunked_body_is_413(notifier: Notifier, nc: Client) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(100):
            yield b"x" * 1024

    async with notifier.session.post(notifier.url("/alerts"), data=chunks(), headers=AUTH) as resp:
        assert resp.status == 413
    assert await stored(nc) == []


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"garbage", "Invalid JSON"),
        (b'{"version": "4", "status": "firing"}', "groupKey"),
        (
            b'{"version":"4","groupKey":"g","status":"firing","receiver":"r",'
            b'"alerts":[{"status":"firing","labels":{},"startsAt":"yesterday"}]}',
            "startsAt",
        ),
    ],
)
async def test_garbage_is_400_with_reason_and_nothing_stored(
    notifier: Notifier, nc: Client, body: bytes, reason: str
) -> None:
    status, answer = await notifier.post(body)
    assert status == 400
    assert reason in str(answer["error"])
    assert await stored(nc) == []
    assert await notifier.metric('chatops_notifier_rejected_total{reason="invalid"}') == 1


class SmallBus:
    """A Publisher whose bus takes only small messages; it counts what it is handed."""

    connected = True
    max_payload = 1624  # room for 600 bytes after the header allowance

    def __init__(self) -> None:
        self.published: list[bytes] = []

    async def publish(self, subject: str, data: bytes, msg_id: str) -> bool:
        self.published.append(data)
        return False


async def test_a_notification_too_big_for_the_bus_is_413_with_the_sizes() -> None:
    # Alertmanager does not retry a 4xx, so the reason must say what to change (max_alerts).
    bus = SmallBus()
    app = make_app(bus, token=TOKEN, max_body=1 << 20, metrics=NotifierMetrics())
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as http:
            small = (FIXTURES / "webhook-01-firing-AlwaysFiring.json").read_bytes()
            async with http.post(server.make_url("/alerts"), data=small, headers=AUTH) as resp:
                assert resp.status == 200
            raw = json.loads(small)
            raw["alerts"][0]["annotations"]["description"] = "d" * 1000
            async with http.post(server.make_url("/alerts"), json=raw, headers=AUTH) as resp:
                assert resp.status == 413
                assert "bytes; the bus takes at most 600" in (await resp.json())["error"]
        assert len(bus.published) == 1
    finally:
        await server.close()


async def test_healthz_and_503_follow_the_nats_connection(tmp_path: Path) -> None:
    server = NatsServer(tmp_path / "nats").start()
    nc = await server.connect("test")
    session = aiohttp.ClientSession()
    app_server: TestServer | None = None
    try:
        await provision(nc.jetstream())
        metrics = NotifierMetrics()
        app = make_app(JetStreamPublisher(nc, ack_timeout=2.0), token=TOKEN, max_body=65536, metrics=metrics)
        app_server = TestServer(app, host="127.0.0.1")
        await app_server.start_server()
        notifier = Notifier(app_server, metrics, session)
        async with session.get(notifier.url("/healthz")) as resp:
            assert resp.status == 200
        server.stop()
        body = (FIXTURES / "webhook-02-firing-ShortLived.json").read_bytes()
        await eventually(lambda: not nc.is_connected, what="the client disconnected")
        async with session.get(notifier.url("/healthz")) as resp:
            assert resp.status == 503
        status, _ = await notifier.post(body)
        assert status == 503
        assert await notifier.metric('chatops_notifier_rejected_total{reason="unavailable"}') == 1

        server = NatsServer(tmp_path / "nats", port=server.port).start()
        await eventually(lambda: nc.is_connected, timeout=30, what="the client reconnected")
        status, answer = await notifier.post(body)
        assert status == 200, answer
        assert len(await stored(nc)) == 1
    finally:
        await session.close()
        if app_server is not None:
            await app_server.close()
        await nc.close()
        server.stop()
