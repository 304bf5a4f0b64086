"""KV records are protobuf: a newer writer's extra field is read and kept; wave-1 JSON reads as absent."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, timestamp_pb2

from chatops.streams import provision
from chatops.subjects import KV_ALERT_MESSAGES, KV_CONFIRMATIONS
from chatops.v1 import records_pb2
from chatops.v1.records_pb2 import ChatSilence
from gateway.alerts.store import MessageStore, live_silence, with_silence
from gateway.commands import Request, parse
from gateway.confirmations import Confirmations, expired, pending_for

NEW_FIELD = 99


def newer(message: str) -> Any:
    """`message` as a later version of records.proto declares it: with a field `escalated_to` added."""
    pool = descriptor_pool.DescriptorPool()
    for file in (timestamp_pb2.DESCRIPTOR, records_pb2.DESCRIPTOR):
        proto = descriptor_pb2.FileDescriptorProto()
        file.CopyToProto(proto)
        if file is records_pb2.DESCRIPTOR:
            wanted = next(m for m in proto.message_type if m.name == message)
            wanted.field.add(
                name="escalated_to",
                number=NEW_FIELD,
                type=descriptor_pb2.FieldDescriptorProto.TYPE_STRING,
                label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL,
            )
        pool.Add(proto)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(f"chatops.v1.{message}"))


async def test_an_alert_record_from_a_newer_gateway_is_read_changed_and_its_field_kept(nc):
    js = nc.jetstream()
    await provision(js)
    kv = await js.key_value(KV_ALERT_MESSAGES)
    Newer = newer("AlertMessageRecord")
    record = Newer(channel="C1", ts="1.2", group_key="g", applied_seq=7, replied_seq=7, escalated_to="team-b")
    record.labels["alertname"] = "X"
    await kv.put("ref1", record.SerializeToString())

    store = MessageStore(kv)
    read = await store.get("ref1")
    assert read is not None
    assert (read.channel, read.ts, read.applied_seq) == ("C1", "1.2", 7)
    assert dict(read.labels) == {"alertname": "X"}

    silence = ChatSilence(user_id="U1", silence_id="s1")
    silence.until.FromDatetime(datetime.now(UTC) + timedelta(hours=1))
    changed = await store.modify("ref1", lambda r: with_silence(r, silence))
    assert changed is not None and live_silence(changed) == silence
    again = Newer.FromString((await kv.get("ref1")).value)
    assert again.escalated_to == "team-b"  # our write kept what we could not read
    assert again.silence.silence_id == "s1"


async def test_a_confirmation_from_a_newer_gateway_is_read_and_its_field_kept(nc):
    js = nc.jetstream()
    await provision(js)
    kv = await js.key_value(KV_CONFIRMATIONS)
    req = parse("change sampling never")
    assert isinstance(req, Request)
    ours = pending_for(req, actor="slack:U1", actor_name="al", channel="C1", thread_ts="1.2", ttl=60)
    Newer = newer("PendingConfirmation")
    theirs = Newer.FromString(ours.SerializeToString())
    theirs.escalated_to = "team-b"
    await kv.put(ours.id, theirs.SerializeToString())

    confirmations = Confirmations(kv)
    found = await confirmations.get(ours.id)
    assert found is not None
    pending, _ = found
    assert (pending.id, pending.request, pending.expires_at) == (ours.id, ours.request, ours.expires_at)
    assert (pending.command, pending.actor) == ("sampling.set", "slack:U1")
    assert not expired(pending)
    await confirmations.attach_message(pending, "1.3")
    assert Newer.FromString((await kv.get(ours.id)).value).escalated_to == "team-b"


async def test_wave_one_json_records_read_as_absent_and_are_logged(nc, caplog: pytest.LogCaptureFixture):
    js = nc.jetstream()
    await provision(js)
    alerts, confirmations = await js.key_value(KV_ALERT_MESSAGES), await js.key_value(KV_CONFIRMATIONS)
    old_record = {"channel": "C1", "ts": "1.2", "group_key": "g", "applied_seq": 3, "replied_seq": 3}
    old_pending = {"id": "abc123", "command": "sampling.set", "request": "CAI=", "actor": "slack:U1"}
    await alerts.put("ref1", json.dumps(old_record).encode())
    await confirmations.put("abc123", json.dumps(old_pending).encode())
    await alerts.put("ref2", b"\x0a\x02C1")  # protobuf, but without a ts: of no use

    store = MessageStore(alerts)
    with caplog.at_level(logging.WARNING, logger="chatops.codec"):
        assert await store.get("ref1") is None
        assert await store.modify("ref1", lambda r: r) is None
        assert await store.get("ref2") is None
        assert await Confirmations(confirmations).get("abc123") is None
    unreadable = [r.getMessage() for r in caplog.records if "kv.record_unreadable" in r.getMessage()]
    assert len(unreadable) == 4
    assert any("chatops.v1.PendingConfirmation" in m for m in unreadable)
    assert any("no ts" in m for m in unreadable)
