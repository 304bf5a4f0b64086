"""The stack plan as data: order, wiring between components, emulator only without Slack tokens."""

from __future__ import annotations

from pathlib import Path

from chatops.access.files import write_access
from chatops.launcher.configs import ConfigFiles
from chatops.launcher.ports import Ports
from chatops.launcher.spec import EmulatedSlack, StackOptions, listening_ports, plan
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
