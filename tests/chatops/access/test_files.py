"""The access table and what `chatops access` writes: valid for nats-server, keys kept, 0600, TLS."""

from __future__ import annotations

import json
import stat
import subprocess
from pathlib import Path

import pytest

from chatops import nats_server
from chatops.access import config
from chatops.access.files import write_access
from chatops.access.table import (
    DESTRUCTIVE_API,
    IDENTITIES,
    Identity,
    Sends,
    commands_of,
    grants,
    services,
)
from chatops.contract import COMMANDS
from chatops.identity import Roster


def test_every_command_is_served_by_exactly_one_service() -> None:
    for command in COMMANDS:
        serving = [s.name for s in services() if s.service and command in commands_of(s.service)]
        assert len(serving) == 1, f"{command.name} is served by {serving}: add its noun to one Service"


def test_no_identity_is_granted_a_destructive_api() -> None:
    for identity in IDENTITIES:
        g = grants(identity)
        for subject in g.publish:
            assert not any(d.removesuffix(".>") in subject for d in DESTRUCTIVE_API), (identity.name, subject)
        assert set(g.deny_publish) >= {f"$JS.API.{d}" for d in DESTRUCTIVE_API}


def test_a_read_only_identity_cannot_be_given_streams_or_a_service() -> None:
    with pytest.raises(ValueError, match="read-only identity uses no stream"):
        Identity("bad", "x", sends=Sends.READ_ONLY, buckets=("b",))


def test_the_written_folder_is_a_valid_config_with_private_keys_kept_across_runs(tmp_path: Path) -> None:
    files = write_access(tmp_path / "a", port=4999)
    done = subprocess.run(
        [nats_server.find(), "--config", str(files.config), "-t"], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stdout + done.stderr
    first = Roster.load(files.roster)
    assert {m.name for m in first.members} == {i.name for i in IDENTITIES}
    assert stat.S_IMODE((tmp_path / "a" / "creds").stat().st_mode) == 0o700
    for identity in IDENTITIES:
        assert stat.S_IMODE(files.seed(identity.name).stat().st_mode) == 0o600
    seed = files.seed("tools").read_bytes()
    assert seed.decode() not in files.config.read_text() and seed.decode() not in files.roster.read_text()
    again = write_access(tmp_path / "a", port=4999)
    assert Roster.load(again.roster) == first and files.seed("tools").read_bytes() == seed


def test_with_tls_every_identity_gets_a_client_certificate_and_the_server_demands_one(tmp_path: Path) -> None:
    files = write_access(tmp_path / "a", port=4999, use_tls=True)
    doc = json.loads(files.config.read_text().split("\n", 1)[1])
    assert doc["tls"]["verify"] is True and doc["tls"]["ca_file"] == str(files.ca)
    for identity in IDENTITIES:
        pair = files.cert(identity.name)
        assert pair.cert.is_file() and stat.S_IMODE(pair.key.stat().st_mode) == 0o600
        env = files.env(identity.name)
        assert env["NATS_TLS_CERT"] == str(pair.cert) and env["NATS_TLS_KEY"] == str(pair.key)
    done = subprocess.run(
        [nats_server.find(), "--config", str(files.config), "-t"], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stdout + done.stderr
    # A second run keeps the CA, so certificates handed out stay valid.
    ca = files.ca.read_bytes()
    write_access(tmp_path / "a", port=4999, use_tls=True)
    assert files.ca.read_bytes() == ca


def test_a_missing_key_is_named() -> None:
    options = config.ServerOptions(host="127.0.0.1", port=1, store_dir=Path("/x"), server_name="s")
    with pytest.raises(ValueError, match="no public key for"):
        config.render(options, {})
