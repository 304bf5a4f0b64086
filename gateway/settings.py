"""The gateway's settings: Slack credentials and mode, the on-call channel, admins, timeouts."""

from __future__ import annotations

from pydantic import Field, SecretStr, model_validator

from chatops.settings import AdminList, BusSettings, CsvList, HostPort, HttpUrl


class GatewaySettings(BusSettings):
    """Socket Mode when SLACK_APP_TOKEN is set, otherwise the HTTP Events API."""

    SLACK_BOT_TOKEN: SecretStr = SecretStr("")
    SLACK_APP_TOKEN: SecretStr = SecretStr("")
    SLACK_SIGNING_SECRET: SecretStr = SecretStr("")
    SLACK_API_URL: HttpUrl = "https://slack.com/api/"
    SLACK_HTTP_LISTEN: HostPort = "127.0.0.1:3000"
    SLACK_ONCALL_CHANNEL: str = ""
    # Optional alert routes by label: "team=payments:C0PAYMENTS,severity=info:C0INFO".
    SLACK_ALERT_ROUTES: CsvList
    CHATOPS_ADMINS: AdminList
    # Workspace (T…) and Enterprise Grid org (E…) ids whose people may use the bot; empty: the bot's
    # own workspace (and org), as auth.test names it. Slack Connect guests from elsewhere are refused.
    SLACK_ALLOWED_TEAMS: CsvList
    # Channel ids where commands are taken, and `dm` for direct messages; empty: everywhere.
    SLACK_ALLOWED_CHANNELS: CsvList
    CHATOPS_COMMAND_TIMEOUT: float = Field(default=10.0, gt=0, le=120)
    CHATOPS_CONFIRM_TTL: float = Field(default=300.0, gt=0, le=3600)
    # A chat message whose gateway has not said it is still answering it for this many seconds (the
    # gateway died) is answered by another replica; a gateway says so every quarter of this.
    CHATOPS_RECOVER_AFTER: float = Field(default=30.0, ge=1, le=600)
    # How long an alert handed to a gateway that died waits before another delivery takes it.
    ALERTS_ACK_WAIT: float = Field(default=30.0, ge=5, le=600)
    # A notification not delivered this many seconds after it was stored goes to CHATOPS_DEADLETTER.
    ALERTS_DEADLETTER_AFTER: float = Field(default=24 * 3600.0, ge=10, le=30 * 24 * 3600.0)
    # Notifications handed to delivery at once (and so groups worked on side by side, at most).
    ALERTS_MAX_IN_FLIGHT: int = Field(default=256, ge=1, le=10_000)
    # How far back a new delivery consumer starts; 0: at new notifications only.
    ALERTS_BACKFILL: float = Field(default=3600.0, ge=0, le=30 * 24 * 3600.0)
    # A graph of the rule's expression over the last hour in each new alert message's thread.
    ALERT_GRAPHS: bool = True
    # The pace of chat.postMessage per channel the gateway keeps to (Slack: about 1 a second, short
    # bursts), replies and alerts together; a burst's worth may go at once.
    SLACK_POST_RATE: float = Field(default=1.0, gt=0, le=100_000)
    SLACK_POST_BURST: float = Field(default=3.0, ge=1, le=100_000)
    # Every other Slack method keeps to its documented tier; this multiplies those rates and bursts.
    SLACK_TIER_SCALE: float = Field(default=1.0, gt=0, le=100_000)
    # A firing alert nobody has acknowledged is said again in its card's thread after this many
    # seconds, and again after as long, at most ALERTS_REANNOUNCE_TIMES times; 0: never.
    ALERTS_REANNOUNCE_AFTER: float = Field(default=900.0, ge=0, le=7 * 24 * 3600.0)
    ALERTS_REANNOUNCE_TIMES: int = Field(default=3, ge=1, le=100)
    # The Slack user group (S…) re-announcements mention, e.g. the on-call rota's; empty: nobody.
    ONCALL_USERGROUP: str = Field(default="", pattern=r"^(S[A-Z0-9]{2,20})?$")
    # A silence that mutes a card's alerts is announced in its thread this many seconds before it
    # ends (and when it has ended); 0: only when it has ended.
    ALERTS_SILENCE_WARN_BEFORE: float = Field(default=600.0, ge=0, le=7 * 24 * 3600.0)
    # One card's message is updated at most once per this many seconds: a storm of acks, silences
    # and resolves on one card shows its latest state, not every step.
    ALERTS_CARD_INTERVAL: float = Field(default=2.0, ge=0.1, le=600)
    # A card lists its service's deploys requested this many seconds before the alert fired.
    ALERTS_CHANGES_WINDOW: float = Field(default=3600.0, ge=60, le=7 * 24 * 3600.0)
    GATEWAY_METRICS_LISTEN: HostPort = "127.0.0.1:9103"

    @model_validator(mode="after")
    def _credentials(self) -> GatewaySettings:
        if not self.SLACK_BOT_TOKEN.get_secret_value().strip():
            raise ValueError("SLACK_BOT_TOKEN: must not be empty (the bot token, xoxb-…)")
        if not (self.SLACK_APP_TOKEN.get_secret_value() or self.SLACK_SIGNING_SECRET.get_secret_value()):
            raise ValueError("SLACK_APP_TOKEN: set it for Socket Mode, or SLACK_SIGNING_SECRET for HTTP mode")
        return self

    @property
    def socket_mode(self) -> bool:
        return bool(self.SLACK_APP_TOKEN.get_secret_value())


class ConsoleSettings(BusSettings):
    """`chatops ask` / `chatops history`: no Slack credentials, the same admins and timeout."""

    CHATOPS_ADMINS: AdminList
    CHATOPS_COMMAND_TIMEOUT: float = Field(default=10.0, gt=0, le=120)
