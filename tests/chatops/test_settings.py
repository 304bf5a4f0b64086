"""Settings: read from the environment and .env, a bad value fails naming its variable."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from chatops.access.keys import new_user_seed
from chatops.bus import connect_options
from chatops.settings import BusSettings, SettingsError, load_settings


def test_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NATS_URL", raising=False)
    assert load_settings(BusSettings).NATS_URL == "nats://127.0.0.1:4222"


def test_reads_dotenv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NATS_URL", raising=False)
    (tmp_path / ".env").write_text("NATS_URL=nats://10.0.0.1:4222,nats://10.0.0.2:4222\n")
    assert load_settings(BusSettings).NATS_URL == "nats://10.0.0.1:4222,nats://10.0.0.2:4222"


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("NATS_URL", "not a url", "NATS_URL: must be nats://host:port"),
        ("NATS_URL", "http://x:1", "NATS_URL: must be nats://host:port"),
        ("LOG_LEVEL", "loud", "LOG_LEVEL: String should match pattern"),
    ],
)
def test_bad_value_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str, value: str, expected: str
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as info:
        load_settings(BusSettings)
    assert str(info.value).startswith(f"configuration error: {expected}")
    assert "\n" not in str(info.value)


def run_cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chatops", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_bad_nats_url_exits_with_one_line(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "NATS_URL": "not a url"}
    proc = run_cli("provision", env=env, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "chatops provision: configuration error: NATS_URL: must be nats://host:port "
        "(comma-separated for a cluster)"
    ]


def test_empty_required_token_exits_with_one_line(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "SLACK_BOT_TOKEN": "", "SLACK_APP_TOKEN": "xapp-1"}
    from gateway.settings import GatewaySettings

    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(tmp_path)
        for key, value in env.items():
            mp.setenv(key, value)
        with pytest.raises(SettingsError, match=r"^configuration error: SLACK_BOT_TOKEN: must not be empty"):
            load_settings(GatewaySettings)


def test_help_lists_subcommands(tmp_path: Path) -> None:
    proc = run_cli("--help", env={"PATH": "/usr/bin:/bin"}, cwd=tmp_path)
    assert proc.returncode == 0
    for name in ("up", "gateway", "ops", "notifier", "petstore", "ask", "history"):
        assert f"    {name}" in proc.stdout
    script = Path(sys.executable).parent / "chatops"
    proc2 = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60)
    assert proc2.stdout == proc.stdout


def test_a_password_in_nats_url_is_refused_without_being_repeated(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NATS_URL", "nats://ops:hunter2@127.0.0.1:4222")
    with pytest.raises(SettingsError) as info:
        load_settings(BusSettings)
    assert "NATS_URL: must not carry a user, password or token" in str(info.value)
    assert "hunter2" not in str(info.value)


def test_one_identity_and_a_whole_client_certificate(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NATS_CREDS", "/a.creds")
    monkeypatch.setenv("NATS_NKEY_SEED_FILE", "/a.nk")
    with pytest.raises(SettingsError, match="NATS_CREDS: set it or NATS_NKEY_SEED_FILE, not both"):
        load_settings(BusSettings)
    monkeypatch.delenv("NATS_CREDS")
    monkeypatch.setenv("NATS_TLS_CERT", "/c.pem")
    with pytest.raises(SettingsError, match="NATS_TLS_CERT: set it and NATS_TLS_KEY together"):
        load_settings(BusSettings)


def test_an_empty_identity_or_tls_variable_is_not_set(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    # As docker-compose's `${NATS_CREDS:-}` passes it: not the current folder as a file.
    monkeypatch.chdir(tmp_path)
    for name in ("NATS_CREDS", "NATS_NKEY_SEED_FILE", "NATS_TLS_CA", "NATS_TLS_CERT", "NATS_TLS_KEY"):
        monkeypatch.setenv(name, "")
    monkeypatch.setenv("NATS_NKEY_SEED_FILE", " ")
    settings = load_settings(BusSettings)
    assert settings.NATS_CREDS is None and settings.NATS_NKEY_SEED_FILE is None
    assert settings.NATS_TLS_CA is None and settings.NATS_TLS_CERT is None and settings.NATS_TLS_KEY is None
    monkeypatch.setenv("NATS_NKEY_SEED_FILE", "/a.nk")
    seed = load_settings(BusSettings).NATS_NKEY_SEED_FILE
    assert seed == Path("/a.nk")


def test_connecting_names_a_credential_file_it_cannot_read(tmp_path: Path) -> None:
    settings = BusSettings(NATS_URL="nats://127.0.0.1:1", NATS_NKEY_SEED_FILE=tmp_path / "missing.nk")
    with pytest.raises(SettingsError, match=r"NATS_NKEY_SEED_FILE: cannot read .*missing\.nk"):
        connect_options(settings, "ops")
    key = tmp_path / "k.nk"
    key.write_bytes(new_user_seed() + b"\n")
    options = connect_options(BusSettings(NATS_URL="tls://127.0.0.1:1", NATS_NKEY_SEED_FILE=key), "ops")
    assert options["nkeys_seed"] == str(key) and options["inbox_prefix"] == "_INBOX.ops"
    assert options["name"] == "chatops-ops" and options["tls"] is not None  # tls:// asks for TLS
    assert "tls" not in connect_options(BusSettings(NATS_URL="nats://127.0.0.1:1"), "ops")


def test_a_seed_file_without_a_user_seed_is_refused_naming_what_it_holds(tmp_path: Path) -> None:
    # nats-py raised a bare `nkeys.ErrInvalidSeed` from inside its connect for these.
    key = tmp_path / "k.nk"
    key.write_text("x\n")
    settings = BusSettings(NATS_URL="nats://127.0.0.1:1", NATS_NKEY_SEED_FILE=key)
    with pytest.raises(
        SettingsError, match=r"^configuration error: NATS_NKEY_SEED_FILE: .*k\.nk holds no valid nkey"
    ):
        connect_options(settings, "ops")
    seed = new_user_seed().decode()
    key.write_text(f"-----BEGIN NATS USER JWT-----\neyJ.e30.x\n------END NATS USER JWT------\n{seed}\n")
    with pytest.raises(
        SettingsError, match="is a credentials file, not a seed: use NATS_CREDS for it"
    ) as refused:
        connect_options(settings, "ops")
    assert seed not in str(refused.value)
