"""The launcher's settings: NATS_URL given means "use that NATS"; a bot token means "real Slack"."""

from __future__ import annotations

import pytest

from chatops.launcher.settings import LauncherSettings
from chatops.settings import SettingsError, load_settings


@pytest.fixture
def clean_env(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no .env from the checkout
    for name in ("NATS_URL", "SLACK_BOT_TOKEN", "LOG_LEVEL", "CHATOPS_ADMINS"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_nothing_set_starts_its_own_nats_and_the_emulator(clean_env):
    settings = load_settings(LauncherSettings)
    assert settings.external_nats == ""
    assert not settings.real_slack
    assert settings.CHATOPS_ADMINS == ()


def test_nats_url_and_bot_token_from_the_environment(clean_env):
    clean_env.setenv("NATS_URL", "nats://127.0.0.1:4999")
    clean_env.setenv("SLACK_BOT_TOKEN", "xoxb-real")
    settings = load_settings(LauncherSettings)
    assert settings.external_nats == "nats://127.0.0.1:4999"
    assert settings.real_slack


def test_the_same_from_a_dotenv_file(clean_env, tmp_path):
    (tmp_path / ".env").write_text(
        "NATS_URL=nats://127.0.0.1:4998\nSLACK_BOT_TOKEN=xoxb-from-file\nCHATOPS_ADMINS=U0A, U0B\n"
    )
    settings = load_settings(LauncherSettings)
    assert settings.external_nats == "nats://127.0.0.1:4998"
    assert settings.real_slack
    assert settings.CHATOPS_ADMINS == ("U0A", "U0B")


def test_a_blank_token_is_not_real_slack_and_a_bad_url_names_the_variable(clean_env):
    clean_env.setenv("SLACK_BOT_TOKEN", "   ")
    assert not load_settings(LauncherSettings).real_slack
    clean_env.setenv("NATS_URL", "not a url")
    with pytest.raises(SettingsError, match="NATS_URL"):
        load_settings(LauncherSettings)
