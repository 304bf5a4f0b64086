"""The launcher's settings: where the bus is (if it already runs) and whether real Slack is configured."""

from __future__ import annotations

from pydantic import SecretStr

from chatops.settings import BusSettings, CsvList


class LauncherSettings(BusSettings):
    """NATS_URL set (environment or .env) means "use that NATS"; otherwise `chatops up` starts one."""

    # With a bot token the gateway talks to the real workspace; without one the offline Slack starts.
    SLACK_BOT_TOKEN: SecretStr = SecretStr("")
    # With real Slack both the gateway and ops get this list; the offline Slack's users replace it.
    CHATOPS_ADMINS: CsvList

    @property
    def external_nats(self) -> str:
        """The NATS to use instead of starting one, or "" when NATS_URL was not given."""
        return self.NATS_URL if "NATS_URL" in self.model_fields_set else ""

    @property
    def real_slack(self) -> bool:
        return bool(self.SLACK_BOT_TOKEN.get_secret_value().strip())
