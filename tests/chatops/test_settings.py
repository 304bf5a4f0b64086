"""Settings: read from the environment and .env, a bad value fails naming its variable."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

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
