"""Streams and buckets against a real nats-server: created once, raised to the settings, never lowered."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import pytest
from nats.aio.client import Client
from nats.errors import Error as NatsError
from nats.js.api import KeyValueConfig, StreamConfig

from chatops import codec
from chatops.streams import DAY, Limits, ProvisionError, ensure, kv_configs, kv_stream, merge, provision
from chatops.subjects import (
    ALERTS_STREAM,
    AUDIT_STREAM,
    DEADLETTER_STREAM,
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
from tools.harness.servers import NatsServer


async def test_provision_creates_everything_once(nc: Client) -> None:
    js = nc.jetstream()
    first = await provision(js)
    assert "stream CHATOPS_ALERTS created" in first
    assert "stream CHATOPS_AUDIT created" in first
    assert "stream CHATOPS_DEPLOYS created" in first
    assert "stream CHATOPS_DEADLETTER created" in first
    assert f"bucket {KV_DEPLOY_MESSAGES} created" in first
    assert f"bucket {KV_SEEN_EVENTS} created" in first

    assert await provision(js) == []  # a second run changes nothing

    alerts = await js.stream_info(ALERTS_STREAM)
    assert alerts.config.subjects == ["chatops.alerts.>"]
    assert alerts.config.duplicate_window == Limits().duplicate_window
    audit = await js.stream_info(AUDIT_STREAM)
    assert audit.config.subjects == ["chatops.audit.>"]
    assert audit.config.deny_delete and audit.config.deny_purge
    deploys = await js.stream_info(DEPLOYS_STREAM)
    assert deploys.config.subjects == ["chatops.deploys.>"]
    dead = await js.stream_info(DEADLETTER_STREAM)
    assert dead.config.subjects == ["chatops.deadletter.>"]
    assert (await (await js.key_value(KV_ALERT_MESSAGES)).status()).bucket == KV_ALERT_MESSAGES


async def test_limits_are_raised_when_the_settings_ask_for_more(nc: Client) -> None:
    js = nc.jetstream()
    await provision(js)
    changes = await provision(js, Limits(alerts_max_age=60 * DAY, alerts_max_bytes=2 << 30))
    assert changes == [
        f"stream CHATOPS_ALERTS raised: max_age {30 * DAY} -> {60 * DAY}; max_bytes {1 << 30} -> {2 << 30}",
        # Card events are kept as long as the alerts they are about.
        f"stream CHATOPS_CARDS raised: max_age {30 * DAY} -> {60 * DAY}",
        # The alert-message bucket keeps records as long as the alerts they show.
        f"bucket {KV_ALERT_MESSAGES} raised: max_age {30 * DAY} -> {60 * DAY}",
    ]
    config = (await js.stream_info(ALERTS_STREAM)).config
    assert (config.max_age, config.max_bytes) == (60 * DAY, 2 << 30)


async def test_an_operators_larger_value_is_kept_with_a_warning(
    nc: Client, caplog: pytest.LogCaptureFixture
) -> None:
    js = nc.jetstream()
    await provision(js)
    audit = (await js.stream_info(AUDIT_STREAM)).config
    await js.update_stream(replace(audit, max_bytes=8 << 30))  # an operator gave the log more room
    with caplog.at_level(logging.WARNING, logger="chatops.streams"):
        assert await provision(js, Limits(audit_max_age=DAY)) == []
    config = (await js.stream_info(AUDIT_STREAM)).config
    assert (config.max_bytes, config.max_age) == (8 << 30, 365 * DAY)
    kept = [r.getMessage() for r in caplog.records]
    assert any("provision.kept_larger" in m and "max_bytes" in m for m in kept)
    assert any("provision.kept_larger" in m and "max_age" in m for m in kept)


async def test_an_audit_stream_made_before_deny_purge_gets_it(nc: Client) -> None:
    js = nc.jetstream()
    await js.add_stream(StreamConfig(name=AUDIT_STREAM, subjects=["chatops.audit.>"]))
    changes = await provision(js)
    assert "stream CHATOPS_AUDIT raised: deny_delete on; deny_purge on" in changes
    config = (await js.stream_info(AUDIT_STREAM)).config
    assert config.deny_delete and config.deny_purge


def test_merge_treats_zero_and_minus_one_as_no_limit() -> None:
    have = StreamConfig(name="S", subjects=["a.>"], max_age=0, max_bytes=-1, num_replicas=1)
    want = StreamConfig(name="S", subjects=["a.>", "b.>"], max_age=DAY, max_bytes=1 << 20, num_replicas=3)
    merged, raised, kept = merge(have, want)
    assert (merged.max_age, merged.max_bytes, merged.num_replicas) == (0, -1, 3)  # unlimited stays
    assert merged.subjects == ["a.>", "b.>"]
    assert raised == ["num_replicas 1 -> 3", "subjects + b.>"]
    assert kept == [f"max_age=0 (settings ask for {DAY})", f"max_bytes=-1 (settings ask for {1 << 20})"]


async def test_a_component_creates_what_it_uses_on_an_open_bus(nc: Client) -> None:
    js = nc.jetstream()
    assert await ensure(js, [ALERTS_STREAM, kv_stream(KV_SEEN_EVENTS)]) == [
        ALERTS_STREAM,
        kv_stream(KV_SEEN_EVENTS),
    ]
    assert await ensure(js, [ALERTS_STREAM]) == []


async def test_with_identities_a_component_cannot_create_a_missing_stream(tmp_path: Path) -> None:
    bus = NatsServer(tmp_path / "nats", identities=True, provisioned=False).start()
    try:
        nc = await bus.connect("notifier")
        try:
            with pytest.raises(ProvisionError, match="run `chatops provision`"):
                await ensure(nc.jetstream(timeout=1), [ALERTS_STREAM])
        finally:
            await nc.close()
    finally:
        bus.stop()


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
    # (Its TTL is left alone: no TTL keeps entries longer, and provisioning never shortens a limit.)
    assert await provision(js, limits) == [
        f"bucket {KV_CONFIRMATIONS} raised: max_bytes capped at 4096; max_msg_size capped at 512"
    ]
    assert (await js.stream_info(f"KV_{KV_CONFIRMATIONS}")).config.max_bytes == 4096
