"""The launcher's settings: NATS_URL given means "use that NATS"; a bot token means "real Slack"."""

from __future__ import annotations

import pytest

from chatops.launcher.settings import LauncherSettings
from chatops.settings import SettingsError, load_settings


@pytest.fixture
def clean_env(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no .env from the checkout
    for name in (
        "NATS_URL",
        "SLACK_BOT_TOKEN",
        "LOG_LEVEL",
        "CHATOPS_ADMINS",
        "SLACK_ONCALL_WEBHOOK_URL",
        "CHATOPS_CLUSTER",
    ):
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
    assert settings.CHATOPS_ADMINS == ("slack:U0A", "slack:U0B")  # bare Slack ids, normalised


def test_a_blank_token_is_not_real_slack_and_a_bad_url_names_the_variable(clean_env):
    clean_env.setenv("SLACK_BOT_TOKEN", "   ")
    assert not load_settings(LauncherSettings).real_slack
    clean_env.setenv("NATS_URL", "not a url")
    with pytest.raises(SettingsError, match="NATS_URL"):
        load_settings(LauncherSettings)


def test_the_oncall_webhook_must_be_a_url_and_is_never_echoed(clean_env):
    clean_env.setenv("SLACK_ONCALL_WEBHOOK_URL", "T000/B000/not-a-url-s3cret")
    with pytest.raises(SettingsError, match="SLACK_ONCALL_WEBHOOK_URL") as bad:
        load_settings(LauncherSettings)
    assert "s3cret" not in str(bad.value)
    clean_env.setenv("SLACK_ONCALL_WEBHOOK_URL", "https://hooks.slack.com/services/T0/B0/s3cret")
    settings = load_settings(LauncherSettings)
    assert settings.SLACK_ONCALL_WEBHOOK_URL.get_secret_value().endswith("/s3cret")
    assert "s3cret" not in repr(settings)


def test_the_second_path_goes_to_the_emulators_webhook_or_to_the_operators(clean_env, tmp_path):
    from chatops.launcher import _options, parser
    from slackemu import webhooks

    args = parser().parse_args(["--data-dir", str(tmp_path / "emu"), "--base-port", "21000"])
    opts = _options(args, load_settings(LauncherSettings))
    assert opts.slack is not None and opts.configs.slack_webhook is not None
    expected = webhooks.url(opts.ports.url("slackemu"), opts.slack.webhook_secret)
    assert opts.configs.slack_webhook.read_text() == expected
    clean_env.setenv("SLACK_BOT_TOKEN", "xoxb-real")
    args = parser().parse_args(["--data-dir", str(tmp_path / "real"), "--base-port", "21000"])
    assert _options(args, load_settings(LauncherSettings)).configs.slack_webhook is None
    clean_env.setenv("SLACK_ONCALL_WEBHOOK_URL", "https://hooks.slack.com/services/T0/B0/s3cret")
    real = _options(args, load_settings(LauncherSettings))
    assert real.configs.slack_webhook is not None
    assert real.configs.slack_webhook.read_text() == "https://hooks.slack.com/services/T0/B0/s3cret"


def test_a_cluster_has_one_node_or_three(clean_env):
    assert load_settings(LauncherSettings).CHATOPS_CLUSTER == 1
    clean_env.setenv("CHATOPS_CLUSTER", "3")
    assert load_settings(LauncherSettings).CHATOPS_CLUSTER == 3
    clean_env.setenv("CHATOPS_CLUSTER", "2")
    with pytest.raises(SettingsError, match="CHATOPS_CLUSTER: must be 1 or 3"):
        load_settings(LauncherSettings)


def test_a_bad_admins_entry_is_refused_naming_it_and_how_to_write_it(clean_env):
    clean_env.setenv("CHATOPS_ADMINS", "U0BOSS, console:root,alcie")
    with pytest.raises(SettingsError) as info:
        load_settings(LauncherSettings)
    assert str(info.value) == (
        "configuration error: CHATOPS_ADMINS: 'alcie' is neither an actor like slack:U024BE7LH or "
        "console:alice nor a Slack user id like U024BE7LH"
    )
    clean_env.setenv("CHATOPS_ADMINS", "U0BOSS, console:root")
    assert load_settings(LauncherSettings).CHATOPS_ADMINS == ("slack:U0BOSS", "console:root")
