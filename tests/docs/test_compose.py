"""docker-compose.yml and the Dockerfile agree with the code: configs, variables, required values, ports.

Docker cannot run on the development machines, so this reads the files and checks them against the
components' settings classes and the committed configs.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from pydantic import ValidationError
from pydantic_settings import BaseSettings

from chatops.access.cli import main as access_main
from chatops.access.files import AccessFiles
from chatops.access.table import IDENTITIES
from chatops.launcher.ports import NATS_NODES, Ports, second_replicas
from chatops.settings import BusSettings
from deployer.settings import DeployerSettings
from gateway.settings import GatewaySettings
from notifier.settings import NotifierSettings
from ops.settings import OpsSettings
from petstore.settings import PetstoreSettings
from tests.docs.settings_fields import ROOT
from tools.clusterconfigs import main as generate_cluster_configs

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
# `chatops <subcommand>` -> the settings class that subcommand reads.
SETTINGS: dict[str, type[BaseSettings]] = {
    "petstore": PetstoreSettings,
    "deployer": DeployerSettings,
    "ops": OpsSettings,
    "notifier": NotifierSettings,
    "gateway": GatewaySettings,
    "provision": BusSettings,
}
PYTHON_SERVICES = ("deployer", "demo-load", "ops", "notifier", "gateway", "provision")
# The `cluster` profile (README, "Running in production"): the other two NATS nodes, and the second
# replica of each replicated component, named after its first.
CLUSTER_NODES = ("nats-2", "nats-3")
SECOND_REPLICAS = {
    "ops-2": "ops",
    "notifier-2": "notifier",
    "gateway-2": "gateway",
    "alertmanager-2": "alertmanager",
}
CLUSTER_SERVICES = (*CLUSTER_NODES, *SECOND_REPLICAS)
# A listen setting -> its port's name in chatops.launcher.ports.Ports.
LISTEN_PORTS = {
    "OPS_METRICS_LISTEN": "ops_metrics",
    "NOTIFIER_LISTEN": "notifier",
    "GATEWAY_METRICS_LISTEN": "gateway_metrics",
    "SLACK_HTTP_LISTEN": "gateway_http",
}
PYTHON_REPLICAS = ("ops-2", "notifier-2", "gateway-2")
# The deployer passes its environment on to the petstore instances it starts: these are theirs.
INSTANCE_PASS_THROUGH = {"PETSTORE_SAMPLER"}
# Run once and exit: write the identities (`chatops access`), create the streams (`chatops provision`).
ONE_SHOTS = ("access", "provision")
# Read by the OpenTelemetry SDK itself, not by our settings classes.
OTEL_STANDARD = {"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_SERVICE_NAME"}
# What a person puts in .env for compose (README, "docker-compose").
USER_ENV = {
    "NOTIFIER_TOKEN": "compose-test-token",
    "SLACK_BOT_TOKEN": "xoxb-compose-test",
    "SLACK_APP_TOKEN": "xapp-compose-test",
}
# …and what it adds for the cluster shape (README, "Running in production").
CLUSTER_ENV = {**USER_ENV, "COMPOSE_PROFILES": "cluster", "CHATOPS_CLUSTER": "3"}
_VAR = re.compile(r"\$\{(?P<name>[A-Z_][A-Z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}")


def interpolate(value: object, user: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default}, ${VAR:?error} and ${VAR:+instead} with `user` as the .env file."""

    def one(m: re.Match[str]) -> str:
        name, op, arg = m["name"], m["op"] or "", m["arg"] or ""
        if op.endswith("+"):
            return arg if name in user and (user[name] or op == "+") else ""
        if name in user and (user[name] or op in ("-", "?")):
            return user[name]
        if op.endswith("?"):
            raise KeyError(f"{name} is required: {arg}")
        return arg if op.endswith("-") else ""

    return str(_VAR.sub(one, str(value))).replace("$$", "$")  # `$$` is compose's literal `$`


def env_of(service: str, user: dict[str, str] | None = None) -> dict[str, str]:
    raw = SERVICES[service].get("environment") or {}
    return {k: interpolate(v, USER_ENV if user is None else user) for k, v in raw.items()}


def settings_of(service: str) -> type[BaseSettings]:
    return SETTINGS[str(SERVICES[service]["command"][0])]


def flag(service: str, name: str, user: dict[str, str] | None = None) -> str:
    for arg in SERVICES[service]["command"]:
        if arg.startswith(f"{name}="):
            return interpolate(arg.split("=", 1)[1], USER_ENV if user is None else user)
    raise KeyError(f"{service} has no {name}")


def port_of(address: str) -> int:
    return int(address.rsplit(":", 1)[1]) if "://" not in address else int(urlsplit(address).port or 0)


def health_port(service: str) -> int:
    test = " ".join(SERVICES[service]["healthcheck"]["test"])
    found = re.search(r"127\.0\.0\.1:(\d+)", test)
    assert found, f"{service} health check names no loopback port"
    return int(found[1])


def test_every_part_of_the_system_is_a_service():
    assert set(SERVICES) == {
        "nats",
        "jaeger",
        "prometheus",
        "alertmanager",
        "access",
        *PYTHON_SERVICES,
        *CLUSTER_SERVICES,
    }
    # The cluster's parts start only with its profile; everything else always.
    assert {n for n, s in SERVICES.items() if s.get("profiles")} == set(CLUSTER_SERVICES)
    assert all(SERVICES[n]["profiles"] == ["cluster"] for n in CLUSTER_SERVICES)
    assert SERVICES["jaeger"]["image"].startswith("jaegertracing/jaeger:2.")
    # JetStream, its store on the volume and the port come from the config `chatops access` writes
    # (checked in the last test of this file).
    assert SERVICES["nats"]["command"] == ["--config", "/access/nats.conf"]
    assert any(v.startswith("nats-data:") for v in SERVICES["nats"]["volumes"])


def test_nats_is_the_release_the_wheel_pins():
    from tests.chatops.test_nats_server import pinned_version

    assert SERVICES["nats"]["image"] == f"nats:{pinned_version()}-alpine"


def test_every_long_running_service_has_a_health_check_on_its_real_port():
    for name in set(SERVICES) - {"demo-load", *ONE_SHOTS}:
        assert "healthcheck" in SERVICES[name], name
    assert health_port("alertmanager-2") == port_of(flag("alertmanager-2", "--web.listen-address"))
    for second in PYTHON_REPLICAS:
        listens = [
            v for k, v in env_of(second).items() if k.endswith("METRICS_LISTEN") or k == "NOTIFIER_LISTEN"
        ]
        assert [health_port(second)] == [port_of(v) for v in listens], second
    assert health_port("prometheus") == port_of(flag("prometheus", "--web.listen-address"))
    assert health_port("alertmanager") == port_of(flag("alertmanager", "--web.listen-address"))
    assert health_port("deployer") == port_of(env_of("deployer")["DEPLOYER_METRICS_LISTEN"])
    assert health_port("ops") == port_of(env_of("ops")["OPS_METRICS_LISTEN"])
    assert health_port("notifier") == port_of(env_of("notifier")["NOTIFIER_LISTEN"])
    assert health_port("gateway") == port_of(env_of("gateway")["GATEWAY_METRICS_LISTEN"])


def mounts(service: str, user: dict[str, str] | None = None) -> dict[str, str]:
    """Container path -> the repository path mounted there (named volumes left out)."""
    found = {}
    for volume in SERVICES[service].get("volumes") or []:
        source, target = interpolate(volume, USER_ENV if user is None else user).split(":")[:2]
        if source.startswith("."):
            found[target] = source
    return found


def secret_targets(service: str) -> dict[str, str]:
    """Container path -> the secret's source file, for the secrets a service mounts."""
    files = {name: spec["file"] for name, spec in COMPOSE.get("secrets", {}).items()}
    return {s["target"]: files[s["source"]] for s in SERVICES[service].get("secrets") or []}


def test_every_mounted_path_exists_and_so_do_the_configs_it_is_read_from():
    for name in SERVICES:
        for source in mounts(name).values():
            assert (ROOT / source).exists(), f"{name} mounts missing {source}"
    prom_config = flag("prometheus", "--config.file")
    assert prom_config in mounts("prometheus")
    prom = yaml.safe_load((ROOT / mounts("prometheus")[prom_config]).read_text())
    for rule_file in prom.get("rule_files") or []:
        in_container = str(Path(prom_config).parent / rule_file)
        assert in_container in mounts("prometheus"), f"{rule_file} is not mounted beside prometheus.yml"
        assert (ROOT / mounts("prometheus")[in_container]).is_file()
    am_config = flag("alertmanager", "--config.file")
    assert am_config in mounts("alertmanager")
    am = yaml.safe_load((ROOT / mounts("alertmanager")[am_config]).read_text())
    for receiver in am["receivers"]:
        for hook in receiver.get("webhook_configs") or []:
            token = hook["http_config"]["authorization"]["credentials_file"]
            # Alertmanager reads a relative credentials_file beside its config: the secret goes there.
            assert str(Path(am_config).parent / token) in secret_targets("alertmanager"), token
        for slack in receiver.get("slack_configs") or []:
            # Alertmanager reads api_url_file as given (not beside its config): an absolute secret path.
            assert slack["api_url_file"] in secret_targets("alertmanager"), slack["api_url_file"]
    assert secret_targets("alertmanager")


@pytest.mark.parametrize("service", PYTHON_SERVICES + PYTHON_REPLICAS)
def test_every_variable_is_a_setting_of_that_component(service):
    fields = set(settings_of(service).model_fields)
    unknown = set(env_of(service)) - fields - OTEL_STANDARD
    if service == "deployer":
        assert set(PetstoreSettings.model_fields) >= INSTANCE_PASS_THROUGH
        unknown -= INSTANCE_PASS_THROUGH
    assert not unknown, f"{service} sets variables its settings do not have: {sorted(unknown)}"


@pytest.mark.parametrize("service", PYTHON_SERVICES + PYTHON_REPLICAS)
@pytest.mark.parametrize("user", [USER_ENV, CLUSTER_ENV], ids=["alone", "cluster"])
def test_the_environment_is_valid_for_that_component(service, user, tmp_path, monkeypatch):
    # Only what compose passes: no .env from this checkout and no variables from this shell.
    monkeypatch.chdir(tmp_path)
    cls = settings_of(service)
    for name in cls.model_fields:
        monkeypatch.delenv(name, raising=False)
    for name, value in env_of(service, user).items():
        monkeypatch.setenv(name, value)
    try:
        cls()
    except ValidationError as exc:
        raise AssertionError(f"{service}: {exc}") from None


def test_every_required_variable_is_demanded_from_the_user():
    for service in PYTHON_SERVICES:
        required = {n for n, f in settings_of(service).model_fields.items() if f.is_required()}
        assert required <= set(env_of(service)), service
    with pytest.raises(KeyError, match="NOTIFIER_TOKEN"):
        env_of("notifier", user={})
    with pytest.raises(KeyError, match="SLACK_BOT_TOKEN"):
        env_of("gateway", user={})


def test_ports_agree_between_components_and_with_the_settings_defaults():
    dep, ops, demo = env_of("deployer"), env_of("ops"), env_of("demo-load")
    access = SERVICES["access"]["command"]
    nats_port = int(access[access.index("--port") + 1])
    for service in ("ops", "notifier", "gateway", "deployer", "provision"):
        assert port_of(env_of(service)["NATS_URL"]) == nats_port
    instances = [entry.split("/") for entry in dep["DEPLOY_INSTANCES"].split(",")]
    assert ops["PETSTORE_ADDR"] == demo["PETSTORE_ADDR"] == ",".join(grpc for grpc, _ in instances)
    assert dep["DEPLOY_INSTANCES"] == ",".join(DeployerSettings.model_fields["DEPLOY_INSTANCES"].default)
    assert port_of(dep["PROMETHEUS_URL"]) == port_of(flag("prometheus", "--web.listen-address"))
    prom = flag("prometheus", "--web.listen-address")
    am = flag("alertmanager", "--web.listen-address")
    assert port_of(ops["PROMETHEUS_URL"]) == port_of(prom)
    assert port_of(ops["ALERTMANAGER_URL"]) == port_of(am)
    assert port_of(ops["JAEGER_URL"]) == 16686  # Jaeger's query/api_v3 port
    assert port_of(dep["OTEL_EXPORTER_OTLP_ENDPOINT"]) == 4318  # Jaeger's OTLP/HTTP port
    for service in PYTHON_SERVICES:
        defaults = settings_of(service).model_fields
        for key, value in env_of(service).items():
            if key.endswith("_LISTEN"):
                assert value == defaults[key].default, f"{service} {key}={value} moves a fixed port"
    assert port_of(prom) == 9090 and port_of(am) == 9093 and nats_port == 4222


def test_the_committed_configs_point_at_the_services_compose_runs():
    prom = yaml.safe_load((ROOT / "alertmanager" / "prometheus.yml").read_text())
    targets = {
        t for job in prom["scrape_configs"] for s in job.get("static_configs", []) for t in s["targets"]
    }
    for entry in env_of("deployer")["DEPLOY_INSTANCES"].split(","):
        assert entry.split("/")[1] in targets, f"prometheus.yml does not scrape the instance at {entry}"
    for service, var in (
        ("deployer", "DEPLOYER_METRICS_LISTEN"),
        ("ops", "OPS_METRICS_LISTEN"),
        ("gateway", "GATEWAY_METRICS_LISTEN"),
        ("notifier", "NOTIFIER_LISTEN"),
    ):
        assert env_of(service)[var] in targets, f"prometheus.yml does not scrape {service}"
    alerting = prom["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    assert flag("alertmanager", "--web.listen-address") in alerting
    am = yaml.safe_load((ROOT / "alertmanager" / "alertmanager.yml").read_text())
    hooks = [h for r in am["receivers"] for h in r.get("webhook_configs") or []]
    notifier = env_of("notifier")["NOTIFIER_LISTEN"]
    assert any(urlsplit(h["url"]).netloc == notifier and urlsplit(h["url"]).path == "/alerts" for h in hooks)


def test_the_dockerfile_installs_every_package_on_python_311_slim():
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim$", text, re.M)
    for package in ("chatops", "deployer", "gateway", "ops", "notifier", "petstore", "slackemu"):
        assert re.search(rf"^COPY {package} \./{package}$", text, re.M), package
    assert re.search(r"^COPY releases\.yaml \./$", text, re.M) and env_of("deployer")["DEPLOY_RELEASES"] == (
        "/src/releases.yaml"
    )
    assert 'ENTRYPOINT ["chatops"]' in text
    for service in PYTHON_SERVICES:
        assert SERVICES[service]["image"] == "chatops:local" and SERVICES[service]["build"] == "."
        assert SERVICES[service]["command"][0] in SETTINGS
    assert SERVICES["access"]["image"] == "chatops:local" and SERVICES["access"]["command"][0] == "access"
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ".env" in ignored and ".venv" in ignored and "secrets" in ignored


def depends(service: str) -> dict[str, str]:
    """What `service` waits for, and the condition."""
    found = SERVICES[service].get("depends_on") or {}
    return {name: spec["condition"] for name, spec in found.items()}


def test_services_wait_for_what_they_need_and_only_on_real_health_checks():
    for name in SERVICES:
        for dep, condition in depends(name).items():
            if dep in ONE_SHOTS:
                assert condition == "service_completed_successfully", f"{name} waits for {dep} to start"
                continue
            assert condition == "service_healthy", f"{name} waits for {dep} to merely start"
            assert "healthcheck" in SERVICES[dep], f"{name} waits for {dep}, which has no health check"
    on_the_bus = {name for name in PYTHON_SERVICES + PYTHON_REPLICAS if "NATS_URL" in env_of(name)}
    assert on_the_bus == {"ops", "notifier", "gateway", "deployer", "provision", *PYTHON_REPLICAS}
    for name in on_the_bus:
        assert "nats" in depends(name), f"{name} is on the bus but does not wait for NATS"
    assert depends("nats") == {"access": "service_completed_successfully"}
    for node in CLUSTER_NODES:
        assert depends(node) == {"access": "service_completed_successfully"}
        # The provisioner waits for every node there is (in the profile: R3 needs all three).
        assert SERVICES["provision"]["depends_on"][node] == {
            "condition": "service_healthy",
            "required": False,
        }
    for name in on_the_bus - {"provision"}:
        assert depends(name)["provision"] == "service_completed_successfully", name
    for second, first in SECOND_REPLICAS.items():
        assert depends(second) == depends(first), second
    # README: ops and the deployer wait for Jaeger, the gateway for ops, the load for the deployer.
    assert "jaeger" in depends("ops") and {"jaeger", "prometheus"} <= set(depends("deployer"))
    assert "ops" in depends("gateway") and depends("demo-load") == {"deployer": "service_healthy"}
    assert "healthcheck" not in SERVICES["demo-load"]


def test_every_image_is_pinned_to_a_release():
    for name, service in SERVICES.items():
        if name in PYTHON_SERVICES + PYTHON_REPLICAS or name in ONE_SHOTS:
            continue
        tag = service["image"].partition(":")[2]
        assert re.fullmatch(r"v?\d+\.\d+\.\d+(-alpine)?", tag), f"{name}: {service['image']} is not pinned"


def test_one_resend_delay_everywhere():
    from chatops.launcher.configs import RESEND_DELAY

    assert flag("prometheus", "--rules.alert.resend-delay") == RESEND_DELAY
    said = {}
    for name in ("README.md", "alertmanager/README.md", "alertmanager/prometheus.yml", "docker-compose.yml"):
        said[name] = set(re.findall(r"resend-delay=([0-9a-z]+)", (ROOT / name).read_text()))
    assert all(values == {RESEND_DELAY} for values in said.values()), said


def test_every_component_connects_as_its_identity_from_what_the_access_service_writes(tmp_path):
    """Run the access service's own command into a folder standing in for the volume, then check
    that nats' config and every component's identity settings point at files it wrote."""
    command = [interpolate(a, USER_ENV) for a in SERVICES["access"]["command"]]
    assert command[:2] == ["access", "/access"]
    volume = tmp_path / "access"
    assert access_main([str(volume), *command[2:]]) == 0
    assert SERVICES["nats"]["command"] == ["--config", "/access/nats.conf"]
    assert "access:/access:ro" in SERVICES["nats"]["volumes"]
    files = AccessFiles(volume, use_tls=False)
    config = files.config.read_text()
    assert (
        '"port": 4222' in config and '"http": "127.0.0.1:8222"' in config and '"store_dir": "/data"' in config
    )
    names = {i.name for i in IDENTITIES}
    for service in ("ops", "notifier", "gateway", "deployer", "provision", *PYTHON_REPLICAS):
        env = env_of(service)
        identity = "provisioner" if service == "provision" else service.removesuffix("-2")
        assert identity in names
        assert "access:/access:ro" in SERVICES[service]["volumes"], service
        expected = {k: v.replace(str(volume), "/access") for k, v in files.env(identity).items()}
        assert {k: env[k] for k in expected} == expected, service


def _node_config(path: Path) -> dict[str, object]:
    text = path.read_text()
    return dict(json.loads(text[text.index("{") :]))


def test_the_cluster_profile_is_the_shape_chatops_up_cluster_3_runs(tmp_path):
    """With CHATOPS_CLUSTER=3 and the profile: three nodes from what `access` writes, every component
    on every node, R3, a second of each replicated component that differs only in its ports, and
    Prometheus and Alertmanager configs that know both."""
    command = [interpolate(a, CLUSTER_ENV) for a in SERVICES["access"]["command"]]
    assert command[command.index("--cluster") + 1] == "3"
    volume = tmp_path / "access"
    assert access_main([str(volume), *command[2:]]) == 0
    files = AccessFiles(volume, use_tls=False, nodes=3)
    ports = Ports()
    for number, (service, (client, route)) in enumerate(
        zip(("nats", *CLUSTER_NODES), NATS_NODES, strict=True), 1
    ):
        assert SERVICES[service]["command"] == ["--config", f"/access/{files.node_config(number).name}"]
        config = _node_config(files.node_config(number))
        assert config["port"] == ports.named()[client], service  # the same ports as `chatops up`
        cluster = config["cluster"]
        assert isinstance(cluster, dict) and cluster["port"] == ports.named()[route]
        assert health_port(service) == port_of(str(config["http"])), service
        assert config["accounts"] == _node_config(files.config)["accounts"]
        assert any(
            v.endswith(":/data") and v.startswith(f"{service}-data") for v in SERVICES[service]["volumes"]
        )
    every_node = ",".join(f"nats://127.0.0.1:{ports.named()[c]}" for c, _ in NATS_NODES)
    for name in ("ops", "notifier", "gateway", "deployer", "provision", *PYTHON_REPLICAS):
        env = env_of(name, CLUSTER_ENV)
        assert env["NATS_URL"] == every_node and env["CHATOPS_REPLICAS"] == "3", name
        alone = env_of(name)
        assert alone["NATS_URL"] == "nats://127.0.0.1:4222" and alone["CHATOPS_REPLICAS"] == "1", name
    # A second replica is its first with other ports: the same identity, backends and settings.
    for second, first in SECOND_REPLICAS.items():
        assert SERVICES[second]["image"] == SERVICES[first]["image"]
        if first == "alertmanager":
            continue
        assert SERVICES[second]["command"] == SERVICES[first]["command"]
        mine, theirs = env_of(second, CLUSTER_ENV), env_of(first, CLUSTER_ENV)
        differ = {k for k in mine.keys() | theirs.keys() if mine.get(k) != theirs.get(k)}
        assert differ and all(k.endswith("_LISTEN") for k in differ), (second, differ)
        for key in differ:
            name = LISTEN_PORTS[key]
            assert (
                port_of(theirs.get(key) or GatewaySettings.model_fields[key].default) == ports.named()[name]
            )
            assert port_of(mine[key]) == second_replicas()[ports.named()[name]], (second, key)
    # The HA pair: alertmanager gossips on 9094 in the cluster (not alone), alertmanager-2 joins it.
    assert (
        flag("alertmanager", "--cluster.listen-address", CLUSTER_ENV)
        == f"127.0.0.1:{ports.alertmanager_peer}"
    )
    assert flag("alertmanager", "--cluster.listen-address") == ""
    assert flag("alertmanager-2", "--cluster.listen-address") == f"127.0.0.1:{ports.alertmanager2_peer}"
    assert flag("alertmanager-2", "--cluster.peer") == f"127.0.0.1:{ports.alertmanager_peer}"
    assert port_of(flag("alertmanager-2", "--web.listen-address")) == ports.alertmanager2
    assert SERVICES["alertmanager-2"]["secrets"] == SERVICES["alertmanager"]["secrets"]
    # Both mount the cluster configs, generated from the committed ones by `make configs`.
    assert generate_cluster_configs(["--check"]) == 0, "alertmanager/cluster/ is stale: run `make configs`"
    prom_config, am_config = flag("prometheus", "--config.file"), flag("alertmanager", "--config.file")
    assert mounts("prometheus", CLUSTER_ENV)[prom_config] == "./alertmanager/cluster/prometheus.yml"
    assert mounts("prometheus")[prom_config] == "./alertmanager/prometheus.yml"
    assert mounts("alertmanager", CLUSTER_ENV)[am_config] == "./alertmanager/cluster/alertmanager.yml"
    assert mounts("alertmanager-2")[am_config] == "./alertmanager/cluster/alertmanager.yml"
    prom = yaml.safe_load((ROOT / "alertmanager" / "cluster" / "prometheus.yml").read_text())
    targets = {t for job in prom["scrape_configs"] for s in job["static_configs"] for t in s["targets"]}
    for second in PYTHON_REPLICAS:
        [listen] = [
            v
            for k, v in env_of(second).items()
            if k in ("OPS_METRICS_LISTEN", "NOTIFIER_LISTEN", "GATEWAY_METRICS_LISTEN")
        ]
        assert listen in targets, f"the cluster's prometheus.yml does not scrape {second}"
    alerting = prom["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    assert flag("alertmanager-2", "--web.listen-address") in alerting
    am = yaml.safe_load((ROOT / "alertmanager" / "cluster" / "alertmanager.yml").read_text())
    hooks = {urlsplit(h["url"]).netloc for r in am["receivers"] for h in r.get("webhook_configs") or []}
    assert hooks == {env_of("notifier")["NOTIFIER_LISTEN"], env_of("notifier-2")["NOTIFIER_LISTEN"]}
