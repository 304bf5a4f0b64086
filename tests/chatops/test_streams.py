"""Stream and bucket provisioning against a real nats-server."""

from __future__ import annotations

import pytest
from nats.aio.client import Client
from nats.errors import Error as NatsError
from nats.js.api import KeyValueConfig

from chatops import codec
from chatops.streams import Limits, kv_configs, provision
from chatops.subjects import (
    ALERTS_STREAM,
    AUDIT_STREAM,
    DEPLOYS_STREAM,
    H_MSG_ID,
    KV_ALERT_MESSAGES,
    KV_CONFIRMATIONS,
    KV_DEPLOY_MESSAGES,
    KV_SEEN_EVENTS,
    alert_subject,
    audit_subject,
    deploy_subject,
)
from chatops.v1 import events_pb2


async def test_provision_creates_everything_once(nc: Client) -> None:
    js = nc.jetstream()
    first = await provision(js)
    assert "stream CHATOPS_ALERTS created" in first
    assert "stream CHATOPS_AUDIT created" in first
    assert "stream CHATOPS_DEPLOYS created" in first
    assert f"bucket {KV_DEPLOY_MESSAGES} created" in first
    assert f"bucket {KV_SEEN_EVENTS} created" in first

    assert await provision(js) == []  # a second run changes nothing

    alerts = await js.stream_info(ALERTS_STREAM)
    assert alerts.config.subjects == ["chatops.alerts.>"]
    assert alerts.config.duplicate_window == Limits().duplicate_window
    audit = await js.stream_info(AUDIT_STREAM)
    assert audit.config.subjects == ["chatops.audit.>"]
    deploys = await js.stream_info(DEPLOYS_STREAM)
    assert deploys.config.subjects == ["chatops.deploys.>"]
    assert (await (await js.key_value(KV_ALERT_MESSAGES)).status()).bucket == KV_ALERT_MESSAGES


async def test_changed_limits_update_the_stream(nc: Client) -> None:
    js = nc.jetstream()
    await provision(js)
    changes = await provision(js, Limits(alerts_max_age=3 * 3600.0))
    assert changes == ["stream CHATOPS_ALERTS updated"]
    assert (await js.stream_info(ALERTS_STREAM)).config.max_age == 3 * 3600.0


async def test_duplicate_window_stores_a_notification_once(nc: Client) -> None:
    js = nc.jetstream()
    await provision(js)
    event = codec.encode(events_pb2.AlertNotification(group_key='{}:{alertname="X"}', status="firing"))
    first = await js.publish(alert_subject("firing", "critical"), event, headers={H_MSG_ID: "abc"})
    again = await js.publish(alert_subject("firing", "critical"), event, headers={H_MSG_ID: "abc"})
    assert not first.duplicate
    assert again.duplicate
    assert (await js.stream_info(ALERTS_STREAM)).state.messages == 1
    ack = await js.publish(audit_subject("sampling.set"), b"x")
    assert ack.stream == AUDIT_STREAM
    ack = await js.publish(deploy_subject("petstore", "requested"), b"x")
    assert ack.stream == DEPLOYS_STREAM


async def test_every_bucket_has_a_size_cap_and_old_buckets_get_one(nc: Client) -> None:
    js = nc.jetstream()
    limits = Limits(kv_max_bytes=4096, kv_max_value=512)
    await provision(js, limits)
    buckets = [kv.bucket for kv in kv_configs(limits)]
    assert {KV_ALERT_MESSAGES, KV_SEEN_EVENTS, KV_CONFIRMATIONS, KV_DEPLOY_MESSAGES} <= set(buckets)
    for bucket in buckets:
        config = (await js.stream_info(f"KV_{bucket}")).config
        assert (config.max_bytes, config.max_msg_size) == (4096, 512), bucket
    kv = await js.key_value(KV_SEEN_EVENTS)
    with pytest.raises(NatsError):
        await kv.put("big", b"x" * 600)  # over the value cap
    written = 0
    with pytest.raises(NatsError):  # a full bucket refuses new keys rather than growing
        for i in range(100):
            await kv.create(f"k{i}", b"x" * 100)
            written += 1
    assert 10 < written < 100
    # A bucket made without caps (by an older version) gets them on the next start.
    await js.delete_key_value(KV_CONFIRMATIONS)
    await js.create_key_value(KeyValueConfig(bucket=KV_CONFIRMATIONS, history=1))
    assert await provision(js, limits) == [f"bucket {KV_CONFIRMATIONS} updated"]
    assert (await js.stream_info(f"KV_{KV_CONFIRMATIONS}")).config.max_bytes == 4096
