"""The launcher's settings: where the bus is (if it already runs) and whether real Slack is configured."""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator

from chatops.settings import AdminList, BusSettings


class LauncherSettings(BusSettings):
    """NATS_URL set (environment or .env) means "use that NATS"; otherwise `chatops up` starts one."""

    # With a bot token the gateway talks to the real workspace; without one the offline Slack starts.
    SLACK_BOT_TOKEN: SecretStr = SecretStr("")
    # With real Slack the gateway, ops and the deployer get this list; the offline Slack's users replace
    # it. Checked here either way, so a typo stops `chatops up` naming the entry instead of someone
    # finding out when chat refuses them.
    CHATOPS_ADMINS: AdminList
    # With real Slack: the on-call channel's incoming webhook, Alertmanager's own way to say that
    # chatops itself is down (the offline Slack has one built in). A secret: it is all a poster needs.
    SLACK_ONCALL_WEBHOOK_URL: SecretStr = SecretStr("")
    # 3: three NATS nodes and two of each component (`chatops up --cluster 3`, `CHATOPS_CLUSTER=3 make
    # demo`); 1: one of everything.
    CHATOPS_CLUSTER: int = Field(default=1, ge=1, le=3)

    @field_validator("CHATOPS_CLUSTER")
    @classmethod
    def _cluster(cls, value: int) -> int:
        if value == 2:
            raise ValueError(
                "must be 1 or 3: a JetStream cluster goes on while a majority of its nodes is up"
            )
        return value

    @field_validator("SLACK_ONCALL_WEBHOOK_URL")
    @classmethod
    def _webhook_url(cls, value: SecretStr) -> SecretStr:
        url = urlsplit(value.get_secret_value().strip())
        if value.get_secret_value().strip() and (url.scheme not in ("http", "https") or not url.hostname):
            # The value itself is not repeated: it is a secret.
            raise ValueError("must be the https:// URL Slack gave for the incoming webhook")
        return value

    @property
    def external_nats(self) -> str:
        """The NATS to use instead of starting one, or "" when NATS_URL was not given."""
        return self.NATS_URL if "NATS_URL" in self.model_fields_set else ""

    @property
    def real_slack(self) -> bool:
        return bool(self.SLACK_BOT_TOKEN.get_secret_value().strip())
