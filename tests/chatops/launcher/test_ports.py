"""Port blocks and the in-use check, against real sockets."""

from __future__ import annotations

import socket

import pytest

from chatops.launcher.ports import Ports, first_busy, in_use
from tools.harness.ports import free_port


def test_defaults_are_the_projects_fixed_ports():
    p = Ports()
    assert p.nats == 4222 and p.prometheus == 9090 and p.alertmanager == 9093
    assert p.addr("petstore") == "127.0.0.1:6742"
    assert p.url("slackemu", "/api/") == "http://127.0.0.1:3001/api/"


def test_base_port_gives_one_consecutive_block_and_maps_every_default():
    p = Ports.from_base(20000)
    values = sorted(p.named().values())
    assert values == list(range(20000, 20000 + len(values)))
    moved = p.moved()
    assert moved[9101] == p.petstore_metrics
    assert moved[4318] == p.otlp
    assert len(moved) == len(values)


@pytest.mark.parametrize("base", [0, 80, 65530])
def test_base_port_out_of_range_is_refused(base):
    with pytest.raises(ValueError, match="--base-port"):
        Ports.from_base(base)


def test_two_components_on_one_port_is_refused():
    with pytest.raises(ValueError, match="share"):
        Ports(nats=9090)


def test_in_use_sees_a_listening_socket():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert in_use(port)
        assert first_busy({"free": free_port(), "taken": port}) == ("taken", port)
    assert not in_use(port)
    assert first_busy({"free": port}) is None
