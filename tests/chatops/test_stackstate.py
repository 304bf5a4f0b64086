"""The part of `chatops up`'s state.json a process beside the stack reads: its bus and its admins."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chatops.stackstate import BadRecord, StackBus, find_data_dir, recorded_bus, state_path


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
    ("text", "said"),
    [
        ("", "is not JSON"),
        ("{not json", "is not JSON"),
        ("[" * 100_000, "is not JSON"),
        ("[]", "is not a JSON object but a list"),
        ('{"healthy": true}', "names no bus (no nats_url)"),
        ('{"nats_url": 4222}', "has nats_url as a number, not a string"),
        ('{"nats_url": "http://127.0.0.1:4222"}', "has a nats_url that is no bus: it must be nats://"),
        ('{"nats_url": "nats://user:secret@127.0.0.1:4222"}', "it must not carry a user, password"),
        ('{"nats_url": "nats://127.0.0.1:4222", "tls": "yes"}', "has tls as a string, not true or false"),
        ('{"nats_url": "nats://127.0.0.1:4222", "tls": null}', "has tls as null, not true or false"),
        ('{"nats_url": "nats://127.0.0.1:4222", "admins": "slack:U0"}', "has admins as a string, not a list"),
        ('{"nats_url": "nats://127.0.0.1:4222", "admins": {}}', "has admins as an object, not a list"),
        ('{"nats_url": "nats://127.0.0.1:4222", "admins": ["slack U0ADMIN"]}', "has an admin that is not"),
        ('{"nats_url": "nats://127.0.0.1:4222", "admins": [7]}', "has an admin that is not an actor"),
    ],
)
def test_a_record_that_makes_no_sense_says_what_is_wrong_with_it(tmp_path, text, said):
    state_path(tmp_path).write_text(text)
    with pytest.raises(BadRecord) as caught:
        recorded_bus(tmp_path)
    assert said in str(caught.value)
    assert "secret" not in str(caught.value)  # never the value: it could hold anything


def test_a_record_that_cannot_be_read_says_so(tmp_path):
    state_path(tmp_path).mkdir()
    with pytest.raises(BadRecord, match="cannot be read"):
        recorded_bus(tmp_path)


def test_no_record_is_none(tmp_path):
    assert recorded_bus(tmp_path / "nowhere") is None
    (tmp_path / "empty").mkdir()
    assert recorded_bus(tmp_path / "empty") is None


def test_the_data_dir_is_found_here_or_in_the_nearest_folder_above(tmp_path):
    home = tmp_path / "home" / "me"
    checkout = home / "src" / "chatops"
    deep = checkout / "gateway" / "slack"
    deep.mkdir(parents=True)
    assert find_data_dir(deep, home) is None
    (checkout / ".chatops").mkdir()
    assert find_data_dir(checkout, home) == Path(".chatops")
    assert find_data_dir(deep, home) == Path("../../.chatops")
    assert (deep / "../../.chatops").resolve() == (checkout / ".chatops").resolve()
    (deep / ".chatops").mkdir()
    assert find_data_dir(deep, home) == Path(".chatops")  # the nearest wins


def test_the_search_stops_at_the_homes_parent(tmp_path):
    home = tmp_path / "home" / "me"
    elsewhere = home / "notes"
    elsewhere.mkdir(parents=True)
    (tmp_path / "home" / ".chatops").mkdir()  # above the home: someone else's
    assert find_data_dir(elsewhere, home) is None
    (home / ".chatops").mkdir()  # in the home itself: found, as git finds ~/.git
    assert find_data_dir(elsewhere, home) == Path("../.chatops")
    # Where it runs always counts; with no home known, up to the filesystem root.
    assert find_data_dir(tmp_path / "home", home) == Path(".chatops")
    assert find_data_dir(elsewhere, None) == Path("../.chatops")
