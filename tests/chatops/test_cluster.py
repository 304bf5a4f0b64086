"""The bus as a 3-node cluster: node configs that agree, streams provisioned at R3 by several replicas at
once, and a stream made at R1 by an older version raised to R3 (its messages and consumers kept)."""

from __future__ import annotations

import asyncio
import json
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig
from nats.js.errors import NotFoundError

from chatops import nats_server
from chatops.access.cli import main as access_main
from chatops.access.files import AccessFiles, Node, write_access
from chatops.bus import jetstream
from chatops.streams import Limits, ensure, names, provision
from chatops.subjects import ALERTS_DELIVERY_DURABLE, ALERTS_STREAM, AUDIT_STREAM, alert_subject
from tools.harness.cluster import NatsCluster
from tools.harness.servers import running
from tools.harness.wait import eventually

pytestmark = pytest.mark.slow


def _config(path: Path) -> dict[str, object]:
    text = path.read_text()
    return dict(json.loads(text[text.index("{") :]))


def test_every_node_gets_the_same_accounts_and_a_route_to_every_node(tmp_path: Path) -> None:
    nodes = [Node(4300 + i, 6300 + i, tmp_path / f"store-{i}", 8300 + i) for i in range(3)]
    files = write_access(tmp_path / "access", server_name="prod", cluster=nodes)
    assert files.nodes == 3
    configs = [_config(files.node_config(n)) for n in (1, 2, 3)]
    assert files.node_config(1) == files.config == tmp_path / "access" / "nats.conf"
    assert [c["server_name"] for c in configs] == ["prod-1", "prod-2", "prod-3"]
    assert [c["port"] for c in configs] == [4300, 4301, 4302]
    assert [c["http"] for c in configs] == ["127.0.0.1:8300", "127.0.0.1:8301", "127.0.0.1:8302"]
    # Identities and permissions are the table's, on every node alike: a client may land on any.
    assert configs[0]["accounts"] == configs[1]["accounts"] == configs[2]["accounts"]
    password = files.route_secret.read_text().strip()
    for config, node in zip(configs, nodes, strict=True):
        cluster = config["cluster"]
        assert isinstance(cluster, dict)
        assert cluster["port"] == node.route_port and cluster["name"] == "chatops"
        assert cluster["authorization"] == {"user": "route", "password": password, "timeout": 2}
        assert cluster["routes"] == [
            f"nats-route://route:{password}@127.0.0.1:{p}" for p in (6300, 6301, 6302)
        ]
    for number in (1, 2, 3):
        # The route password is in it: a node's configuration is its owner's alone.
        assert stat.S_IMODE(files.node_config(number).stat().st_mode) == 0o600
        done = subprocess.run(
            [nats_server.find(), "--config", str(files.node_config(number)), "-t"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert done.returncode == 0, done.stdout + done.stderr
    # Written again (a restart), the route password and the accounts stay: a node restarted later joins.
    again = write_access(tmp_path / "access", server_name="prod", cluster=nodes)
    assert _config(again.node_config(2)) == configs[1]


def test_a_cluster_has_a_majority_to_lose_and_the_cli_says_so(tmp_path: Path, capsys) -> None:
    with pytest.raises(ValueError, match="at least two nodes"):
        write_access(tmp_path / "one", cluster=[Node(4300, 6300, tmp_path)])
    with pytest.raises(SystemExit):
        access_main([str(tmp_path / "two"), "--cluster", "2"])
    assert "JetStream goes on while a majority is up" in capsys.readouterr().err
    assert access_main([str(tmp_path / "three"), "--cluster", "3", "--http-port", "8222"]) == 0
    printed = capsys.readouterr().out
    files = AccessFiles(tmp_path / "three", use_tls=False, nodes=3)
    for number in (1, 2, 3):
        assert f"wrote {files.node_config(number)}" in printed
    assert _config(files.node_config(3))["port"] == 4224
    assert _config(files.node_config(3))["http"] == "127.0.0.1:8224"


def test_routes_go_over_tls_with_a_certificate_for_both_ends(tmp_path: Path) -> None:
    nodes = [Node(4300 + i, 6300 + i, tmp_path / f"store-{i}") for i in range(3)]
    files = write_access(tmp_path / "access", use_tls=True, cluster=nodes)
    cluster = _config(files.node_config(1))["cluster"]
    assert isinstance(cluster, dict)
    assert cluster["tls"]["cert_file"] == str(files.cert("route").cert)
    assert cluster["tls"]["verify"] is True
    done = subprocess.run(
        [nats_server.find(), "--config", str(files.node_config(1)), "-t"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsCluster]:
    """Three nodes, nothing provisioned: the tests below provision it the way replicas do."""
    with running(NatsCluster(tmp_path_factory.mktemp("cluster"), provisioned=False)) as started:
        yield started


async def test_several_replicas_provision_at_once_and_an_r1_stream_is_raised_to_r3(
    cluster: NatsCluster,
) -> None:
    clients = [await cluster.provisioner() for _ in range(4)]
    notifier, gateway = await cluster.connect("notifier"), await cluster.connect("gateway")
    try:
        jss = [jetstream(nc, cluster.settings("provisioner")) for nc in clients]
        # An older version made everything at one replica, from four replicas starting at once.
        await _settled(jss[0])
        older = await asyncio.gather(*(provision(js, Limits(replicas=1)) for js in jss))
        assert {line.split(" created")[0].split(" ", 1)[1] for run in older for line in run} == {
            n.removeprefix("KV_") for n in names()
        }
        info = await jss[0].stream_info(ALERTS_STREAM)
        assert info.config.num_replicas == 1
        ack = await notifier.jetstream().publish(
            alert_subject("firing", "warning"), b"kept", stream=ALERTS_STREAM
        )
        await gateway.jetstream().add_consumer(
            ALERTS_STREAM, ConsumerConfig(durable_name=ALERTS_DELIVERY_DURABLE, ack_policy=AckPolicy.EXPLICIT)
        )

        # The new settings say R3; three replicas and one still on the old settings run at once.
        runs = await asyncio.gather(
            *(provision(js, Limits(replicas=3)) for js in jss[:3]), provision(jss[3], Limits(replicas=1))
        )
        raised = [line for run in runs for line in run]
        assert f"stream {ALERTS_STREAM} raised: num_replicas 1 -> 3" in raised
        assert all("raised: num_replicas 1 -> 3" in line for line in raised), raised
        for name in names():
            info = await jss[0].stream_info(name)
            assert info.config.num_replicas == 3, name
            assert info.cluster is not None and len(info.cluster.replicas or []) == 2, name
        assert (await gateway.jetstream().get_msg(ALERTS_STREAM, ack.seq)).data == b"kept"
        consumer = await gateway.jetstream().consumer_info(ALERTS_STREAM, ALERTS_DELIVERY_DURABLE)
        # The durable follows its stream: it is replicated on every node too.
        assert consumer.cluster is not None and len(consumer.cluster.replicas or []) == 2
        await cluster.caught_up(clients[0])

        # Settled: nobody has anything left to change, and nobody lowers anything.
        assert await asyncio.gather(*(provision(js, Limits(replicas=3)) for js in jss)) == [[]] * 4
        assert await provision(jss[0], Limits(replicas=1)) == []
        assert await ensure(jss[1], [AUDIT_STREAM], Limits(replicas=3)) == []
    finally:
        for nc in [*clients, notifier, gateway]:
            await nc.close()


async def _settled(js: JetStreamContext) -> None:
    """Until the cluster's JetStream answers (its meta leader elected): "no such stream" is an answer."""

    async def answers() -> bool:
        try:
            await js.stream_info(ALERTS_STREAM)
        except NotFoundError:
            pass
        except NatsError as exc:
            raise AssertionError(f"{type(exc).__name__}: {exc}") from None
        return True

    await eventually(answers, timeout=30, interval=0.2, what="JetStream to answer")
