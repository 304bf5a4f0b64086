"""The stack plan as data: order, wiring between components, emulator only without Slack tokens."""

from __future__ import annotations

from pathlib import Path

from chatops.access.files import write_access
from chatops.launcher.configs import ConfigFiles
from chatops.launcher.plan import listening_ports, plan
from chatops.launcher.ports import Ports
from chatops.launcher.spec import EmulatedSlack, StackOptions
from chatops.launcher.stack import EmulatorWorkspace, workspace_of

PORTS = Ports.from_base(30000)
FILES = ConfigFiles(
    Path("/d/config/prometheus.yml"),
    Path("/d/config/alertmanager.yml"),
    (Path("/d/config/rules.yml"),),
    Path("/d/config/notifier.token"),
)
SLACK = EmulatedSlack("xoxb-local-1", "xapp-local-1", "sig", oncall_channel="C0ONCALL")


def options(**kw) -> StackOptions:
    base = {"ports": PORTS, "data_dir": Path("/d"), "configs": FILES, "notifier_token": "tok", "slack": SLACK}
    return StackOptions(**{**base, **kw})


def by_name(opts: StackOptions):
    return {c.name: c for c in plan(opts)}


def test_start_order_puts_dependencies_first():
    names = [c.name for c in plan(options())]
    assert names == [
        "nats",
        "prometheus",
        "alertmanager",
        "slackemu",
        "ops",
        "deployer",
        "notifier",
        "gateway",
        "demo-load",
    ]


def test_existing_nats_and_real_slack_and_no_demo_leave_those_parts_out():
    opts = options(nats_url="nats://127.0.0.1:4999", slack=None, demo_load=False)
    names = [c.name for c in plan(opts)]
    assert "nats" not in names and "slackemu" not in names and "demo-load" not in names
    assert all(c.env["NATS_URL"] == "nats://127.0.0.1:4999" for c in plan(opts) if c.env)
    assert "nats" not in listening_ports(opts) and "slackemu" not in listening_ports(opts)
    gateway = by_name(opts)["gateway"]
    assert "SLACK_BOT_TOKEN" not in gateway.env  # the gateway reads the real tokens itself


def test_components_are_wired_to_each_other():
    parts = by_name(options())
    ops, dep, gw, notifier = parts["ops"], parts["deployer"], parts["gateway"], parts["notifier"]
    assert ops.env["JAEGER_URL"] == ""
    assert ops.env["OTLP_LISTEN"] == PORTS.addr("otlp")
    assert dep.env["OTEL_EXPORTER_OTLP_ENDPOINT"] == PORTS.url("otlp")
    instances = [entry.split("/") for entry in dep.env["DEPLOY_INSTANCES"].split(",")]
    assert instances == [
        [PORTS.addr("petstore"), PORTS.addr("petstore_metrics")],
        [PORTS.addr("petstore2"), PORTS.addr("petstore2_metrics")],
    ]
    both = f"{PORTS.addr('petstore')},{PORTS.addr('petstore2')}"
    assert ops.env["PETSTORE_ADDR"] == parts["demo-load"].env["PETSTORE_ADDR"] == both
    assert dep.env["PROMETHEUS_URL"] == PORTS.url("prometheus")
    assert dep.env["DEPLOY_STATE_DIR"] == "/d/deployer"
    assert ops.env["PROMETHEUS_URL"] == PORTS.url("prometheus")
    assert ops.env["TRACE_STORE_PATH"] == "/d/traces.sqlite3"
    assert notifier.env["NOTIFIER_TOKEN"] == "tok"
    assert gw.env["SLACK_API_URL"] == PORTS.url("slackemu", "/api/")
    assert gw.env["SLACK_BOT_TOKEN"] == parts["slackemu"].env["SLACKEMU_BOT_TOKEN"]
    assert gw.env["SLACK_APP_TOKEN"] == parts["slackemu"].env["SLACKEMU_APP_TOKEN"]
    assert gw.env["SLACK_ONCALL_CHANNEL"] == "C0ONCALL"


def test_the_gateway_and_ops_get_the_same_admins():
    parts = by_name(options(admins=("U0ALICE", "U0BOB")))
    assert parts["ops"].env["CHATOPS_ADMINS"] == parts["gateway"].env["CHATOPS_ADMINS"] == "U0ALICE,U0BOB"
    assert parts["deployer"].env["CHATOPS_ADMINS"] == "U0ALICE,U0BOB"
    real = by_name(options(slack=None, admins=("U0REAL",)))
    assert real["ops"].env["CHATOPS_ADMINS"] == real["gateway"].env["CHATOPS_ADMINS"] == "U0REAL"
    # None given: an explicit empty list, so neither inherits a stray value and both refuse changes.
    none = by_name(options())
    assert none["ops"].env["CHATOPS_ADMINS"] == none["gateway"].env["CHATOPS_ADMINS"] == ""


def test_the_emulator_workspace_names_oncall_and_its_humans():
    state = {
        "users": [
            {"id": "U0BOT", "name": "chatops", "is_bot": True},
            {"id": "U00000001", "name": "alice", "is_bot": False},
            {"id": "U00000002", "name": "bob", "is_bot": False},
        ],
        "channels": [{"id": "C0GENERAL", "name": "general"}, {"id": "C0ONCALL", "name": "oncall"}],
    }
    ws = workspace_of(state)
    assert ws.oncall_channel == "C0ONCALL"
    assert ws.humans == (("U00000001", "alice"), ("U00000002", "bob"))
    assert ws.admins == ("U00000001", "U00000002")
    assert workspace_of({"users": "nope"}) == workspace_of([]) == EmulatorWorkspace("#oncall", ())


def test_every_server_has_a_health_check_on_its_own_port():
    parts = by_name(options())
    assert parts["nats"].health.tcp == PORTS.nats
    assert parts["prometheus"].health.url == PORTS.url("prometheus", "/-/ready")
    assert parts["alertmanager"].health.url == PORTS.url("alertmanager", "/-/ready")
    for name, port in [
        ("ops", "ops_metrics"),
        ("deployer", "deployer_metrics"),
        ("notifier", "notifier"),
        ("slackemu", "slackemu"),
        ("gateway", "gateway_metrics"),
    ]:
        assert parts[name].health.url == PORTS.url(port, "/healthz")
    assert parts["demo-load"].health is None
    prom_args = " ".join(parts["prometheus"].argv)
    assert "--rules.alert.resend-delay=5s" in prom_args and "/d/config/prometheus.yml" in prom_args


def test_secrets_are_in_the_environment_never_in_arguments():
    for comp in plan(options()):
        joined = " ".join(comp.argv)
        assert "tok" not in comp.argv and "xoxb-" not in joined and "xapp-" not in joined


def test_with_identities_each_component_connects_as_itself(tmp_path):
    access = write_access(tmp_path / "d", port=PORTS.nats, use_tls=True)
    parts = by_name(options(access=access))
    assert parts["nats"].argv[1:] == ("--config", str(access.config))
    for name in ("ops", "notifier", "gateway", "deployer"):
        env = parts[name].env
        assert env["NATS_URL"] == f"tls://127.0.0.1:{PORTS.nats}"
        assert env["NATS_NKEY_SEED_FILE"] == str(access.seed(name))
        assert env["NATS_TLS_CERT"] == str(access.cert(name).cert) and env["NATS_TLS_CA"] == str(access.ca)
    # Only the service learns who is who, and reaches its stream through the import prefix.
    for service in ("ops", "deployer"):
        assert parts[service].env["CHATOPS_IDENTITIES"] == str(access.roster)
        assert parts[service].env["NATS_JS_API_PREFIX"] == "$JS.CHATOPS.API"
    assert "CHATOPS_IDENTITIES" not in parts["gateway"].env
    for name in ("slackemu", "demo-load"):  # not on the bus
        assert "NATS_NKEY_SEED_FILE" not in parts[name].env


def test_an_existing_nats_url_is_shown_without_credentials():
    opts = options(nats_url="nats://ops:hunter2@127.0.0.1:4999,nats://tok@10.0.0.2:4222")
    assert opts.shown_bus_url == "nats://127.0.0.1:4999,nats://10.0.0.2:4222"
    assert by_name(opts)["ops"].env["NATS_URL"] == opts.nats_url  # the component itself gets it whole


def cluster_options(tmp_path: Path, **kw) -> StackOptions:
    from chatops.access.files import Node
    from chatops.launcher.ports import NATS_NODES
    from chatops.streams import Limits

    nodes = [
        Node(PORTS.named()[c], PORTS.named()[r], tmp_path / f"nats-{n}")
        for n, (c, r) in enumerate(NATS_NODES, 1)
    ]
    access = write_access(tmp_path / "d", port=PORTS.nats, cluster=nodes)
    return options(access=access, cluster=3, limits=Limits(replicas=3), **kw)


def test_a_cluster_runs_three_nodes_and_two_of_each_component_but_the_deployer(tmp_path):
    opts = cluster_options(tmp_path)
    assert [c.name for c in plan(opts)] == [
        "nats-1",
        "nats-2",
        "nats-3",
        "prometheus",
        "alertmanager-1",
        "alertmanager-2",
        "slackemu",
        "ops-1",
        "ops-2",
        "deployer",
        "notifier-1",
        "notifier-2",
        "gateway-1",
        "gateway-2",
        "demo-load",
    ]
    parts = by_name(opts)
    every_node = ",".join(f"nats://{PORTS.addr(n)}" for n in ("nats", "nats2", "nats3"))
    for name in ("ops-1", "ops-2", "deployer", "notifier-1", "notifier-2", "gateway-1", "gateway-2"):
        assert parts[name].env["NATS_URL"] == every_node, name
        assert parts[name].env["CHATOPS_REPLICAS"] == "3", name
    for n in (1, 2, 3):
        assert parts[f"nats-{n}"].argv[1:] == ("--config", str(opts.access.node_config(n)))  # type: ignore[union-attr]
    # Each replica on ports of its own, one identity for both.
    assert parts["ops-2"].health.url == PORTS.url("ops2_metrics", "/healthz")
    assert parts["notifier-2"].env["NOTIFIER_LISTEN"] == PORTS.addr("notifier2")
    assert parts["gateway-2"].env["GATEWAY_METRICS_LISTEN"] == PORTS.addr("gateway2_metrics")
    assert parts["gateway-2"].env["SLACK_HTTP_LISTEN"] == PORTS.addr("gateway2_http")
    assert parts["gateway-1"].env["NATS_NKEY_SEED_FILE"] == parts["gateway-2"].env["NATS_NKEY_SEED_FILE"]
    # Both ops write one trace store and take spans on one OTLP port.
    for key in ("TRACE_STORE_PATH", "OTLP_LISTEN"):
        assert parts["ops-1"].env[key] == parts["ops-2"].env[key]
    assert parts["ops-1"].env["OTLP_REUSE_PORT"] == "true"
    # An HA pair: each gossips on its own port and names the other as its peer.
    am1, am2 = " ".join(parts["alertmanager-1"].argv), " ".join(parts["alertmanager-2"].argv)
    assert f"--cluster.listen-address=127.0.0.1:{PORTS.alertmanager_peer}" in am1
    assert f"--cluster.peer=127.0.0.1:{PORTS.alertmanager2_peer}" in am1
    assert f"--cluster.listen-address=127.0.0.1:{PORTS.alertmanager2_peer}" in am2
    assert f"--cluster.peer=127.0.0.1:{PORTS.alertmanager_peer}" in am2
    assert parts["alertmanager-2"].health.url == PORTS.url("alertmanager2", "/-/ready")
    ports = listening_ports(opts)
    assert ports["nats-3"] == PORTS.nats3 and ports["nats-3 routes"] == PORTS.nats3_route
    assert ports["notifier-2"] == PORTS.notifier2 and len(set(ports.values())) == len(ports)


def test_alone_every_stream_is_on_the_one_server_as_before():
    parts = by_name(options())
    assert parts["ops"].env["CHATOPS_REPLICAS"] == "1" and parts["ops"].env["OTLP_REUSE_PORT"] == "false"
    assert parts["ops"].env["NATS_URL"] == f"nats://{PORTS.addr('nats')}"
