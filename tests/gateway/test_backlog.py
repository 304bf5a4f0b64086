"""The alert backlog gauges, read from a real JetStream consumer while deliveries are stuck."""

from __future__ import annotations

import time

import pytest
from nats.aio.client import Client
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from chatops.streams import provision
from chatops.subjects import ALERTS_DELIVERY_DURABLE, ALERTS_PREFIX, ALERTS_STREAM
from gateway.alerts.backlog import BacklogWatch, read_backlog
from gateway.alerts.delivery import Tuning, consumer_config
from gateway.metrics import OLDEST_PENDING, PENDING, BacklogGauges
from tools.harness.alerts import store, webhook
from tools.harness.servers import NatsServer
from tools.harness.wait import eventually


@pytest.fixture
async def js_ready(nc: Client) -> Client:
    await provision(nc.jetstream())
    return nc


def scraped(registry: CollectorRegistry) -> dict[str, float]:
    text = generate_latest(registry).decode()
    return {s.name: s.value for f in text_string_to_metric_families(text) for s in f.samples}


async def test_pending_and_the_age_of_the_oldest_come_from_the_consumer(js_ready: Client) -> None:
    js = js_ready.jetstream()
    await js.add_consumer(ALERTS_STREAM, consumer_config(Tuning(ack_wait=30)))
    registry = CollectorRegistry()
    watch = BacklogWatch(js, BacklogGauges(registry), every=1.0)
    assert (await watch.poll()) is not None
    assert scraped(registry) == {PENDING: 0.0, OLDEST_PENDING: 0.0}

    before = time.time()
    await store(js_ready, webhook("First", [("h1", "firing")]))
    await store(js_ready, webhook("Second", [("h1", "firing")]))
    backlog = await read_backlog(js)
    assert backlog.pending == 2 and backlog.oldest is not None
    assert before - 1 <= backlog.oldest <= time.time()

    # The first one is fetched but not acked (a delivery that keeps failing): it stays the oldest.
    sub = await js.pull_subscribe(f"{ALERTS_PREFIX}.>", durable=ALERTS_DELIVERY_DURABLE, stream=ALERTS_STREAM)
    [first] = await sub.fetch(1, timeout=5)
    await watch.poll()
    assert scraped(registry)[PENDING] == 2
    assert (await read_backlog(js)).oldest == backlog.oldest
    await first.ack_sync()
    [second] = await sub.fetch(1, timeout=5)
    await second.ack_sync()
    assert (await watch.poll()) is not None
    assert scraped(registry) == {PENDING: 0.0, OLDEST_PENDING: 0.0}


async def test_an_unreadable_backlog_is_not_exported_as_zero(
    js_ready: Client, nats_server: NatsServer
) -> None:
    js = js_ready.jetstream()
    registry = CollectorRegistry()
    now = [1000.0]
    gauges = BacklogGauges(registry, clock=lambda: now[0])
    watch = BacklogWatch(js, gauges, every=1.0)
    assert await watch.poll() is None  # no delivery consumer yet: nothing to say
    assert scraped(registry) == {}
    gauges.update(3, 990.0, valid_for=3.0)
    assert scraped(registry) == {PENDING: 3.0, OLDEST_PENDING: 10.0}
    now[0] += 4.0  # no reading since: stale
    assert scraped(registry) == {}
    nats_server.stop()
    assert await watch.poll() is None
    assert scraped(registry) == {}
    # Back up before teardown: a client still reconnecting then can swallow the loop's cancel (nats-py on
    # Python 3.11's wait_for) and keep retrying until pytest-timeout, which happened under load.
    nats_server.start()
    await eventually(lambda: js_ready.is_connected, timeout=20, what="the client reconnected")
    assert await watch.poll() is None  # still no delivery consumer: nothing to say, and no error
