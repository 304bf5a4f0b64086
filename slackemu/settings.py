"""Settings of the Slack emulator, read from SLACKEMU_* variables; local defaults work as they are."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator

from chatops.settings import BusSettings, HostPort, OptionalHttpUrl, RequiredSecret


class EmulatorSettings(BusSettings):
    """Where the emulator listens, the tokens it accepts, and how it delivers events."""

    SLACKEMU_LISTEN: HostPort = "127.0.0.1:3001"
    # Local defaults so `chatops slackemu` works as it is; they guard nothing real.
    SLACKEMU_BOT_TOKEN: RequiredSecret = SecretStr("xoxb-0000000001-emulator-bot")
    SLACKEMU_APP_TOKEN: RequiredSecret = SecretStr("xapp-1-A0EMU0001-emulator-app")
    SLACKEMU_SIGNING_SECRET: RequiredSecret = SecretStr("emulator-signing-secret")
    SLACKEMU_VERIFICATION_TOKEN: RequiredSecret = SecretStr("emulator-verification-token")
    SLACKEMU_REQUEST_URL: OptionalHttpUrl = ""
    SLACKEMU_ACK_TIMEOUT: float = Field(default=3.0, gt=0, le=300)
    SLACKEMU_MAX_RETRIES: int = Field(default=3, ge=0, le=10)
    SLACKEMU_HTTP_TIMEOUT: float = Field(default=3.0, gt=0, le=300)
    SLACKEMU_RETRY_DELAY: float = Field(default=1.0, ge=0, le=600)
    SLACKEMU_RATE_PER_SEC: float = Field(default=1.0, ge=0)
    SLACKEMU_RATE_BURST: float = Field(default=4.0, ge=1)
    # The incoming webhook `POST /services/T0EMU0001/B0EMUHOOK/<secret>` posts to this channel.
    SLACKEMU_WEBHOOK_SECRET: SecretStr = SecretStr("emulator-incoming-webhook")
    SLACKEMU_WEBHOOK_CHANNEL: str = "oncall"
    # Tests set this so an emulator never outlives a killed test run on a shared machine.
    SLACKEMU_EXIT_WITH_PARENT: bool = False
    # Where the workspace (users, channels, messages) is kept across restarts; empty: memory only.
    SLACKEMU_STATE_FILE: str = ""

    @field_validator("SLACKEMU_BOT_TOKEN")
    @classmethod
    def _bot_token(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().startswith("xoxb-"):
            raise ValueError("must be a bot token starting with xoxb-")
        return value

    @field_validator("SLACKEMU_APP_TOKEN")
    @classmethod
    def _app_token(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().startswith("xapp-"):
            raise ValueError("must be an app-level token starting with xapp-")
        return value
