"""The part of `chatops up`'s state.json a process beside the stack reads: its bus and its admins."""

from __future__ import annotations

import json

import pytest

from chatops.stackstate import StackBus, recorded_bus, state_path


def test_what_the_launcher_records_reads_back(tmp_path):
    bus = StackBus(
        "tls://127.0.0.1:24222,tls://127.0.0.1:24223", tls=True, admins=("slack:U0ADMIN", "console:alice")
    )
    state_path(tmp_path).write_text(json.dumps({"launcher_pid": 1, **bus.to_state()}))
    assert recorded_bus(tmp_path) == bus


def test_a_record_from_before_tls_was_recorded_is_a_plain_bus(tmp_path):
    state_path(tmp_path).write_text(json.dumps({"nats_url": "nats://127.0.0.1:4222"}))
    assert recorded_bus(tmp_path) == StackBus("nats://127.0.0.1:4222", tls=False)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "{not json",
        "[]",
        '{"healthy": true}',
        '{"nats_url": 4222}',
        '{"nats_url": "http://127.0.0.1:4222"}',
        '{"nats_url": "nats://user:secret@127.0.0.1:4222"}',
        '{"nats_url": "nats://127.0.0.1:4222", "tls": "yes"}',
        '{"nats_url": "nats://127.0.0.1:4222", "admins": "slack:U0ADMIN"}',
        '{"nats_url": "nats://127.0.0.1:4222", "admins": ["slack U0ADMIN"]}',
        '{"nats_url": "nats://127.0.0.1:4222", "admins": [7]}',
    ],
)
def test_a_record_that_makes_no_sense_is_no_record(tmp_path, text):
    state_path(tmp_path).write_text(text)
    assert recorded_bus(tmp_path) is None


def test_no_record_is_none(tmp_path):
    assert recorded_bus(tmp_path / "nowhere") is None
