"""The Slack emulator (`python -m slackemu`) as a separate process on a free port, like a real Slack."""

from __future__ import annotations

import secrets
from pathlib import Path

from chatops.launcher.spec import Component, Health
from slackemu import webhooks
from slackemu.client import EmulatorControl
from tools.harness.ports import LOOPBACK, free_port
from tools.harness.procs import Process, python_component


class SlackEmulator:
    """`python -m slackemu` with fresh tokens; `.api_url` is what SLACK_API_URL should be."""

    def __init__(
        self,
        workdir: Path,
        *,
        request_url: str | None = None,
        ack_timeout: float = 3.0,
        max_retries: int = 3,
        retry_delay: float = 0.5,
        rate_per_sec: float = 1.0,
        rate_burst: float = 4.0,
        port: int | None = None,
    ) -> None:
        self.port = port or free_port()
        self.workdir = workdir
        self.bot_token = f"xoxb-{secrets.randbelow(10**12)}-{secrets.token_hex(12)}"
        self.app_token = f"xapp-1-A0EMU0001-{secrets.token_hex(12)}"
        self.signing_secret = secrets.token_hex(16)
        self.webhook_secret = secrets.token_urlsafe(18)
        self.request_url = request_url
        self.env = {
            "SLACKEMU_LISTEN": f"{LOOPBACK}:{self.port}",
            "SLACKEMU_BOT_TOKEN": self.bot_token,
            "SLACKEMU_APP_TOKEN": self.app_token,
            "SLACKEMU_SIGNING_SECRET": self.signing_secret,
            "SLACKEMU_WEBHOOK_SECRET": self.webhook_secret,
            "SLACKEMU_REQUEST_URL": request_url or "",
            "SLACKEMU_ACK_TIMEOUT": str(ack_timeout),
            "SLACKEMU_MAX_RETRIES": str(max_retries),
            "SLACKEMU_RETRY_DELAY": str(retry_delay),
            "SLACKEMU_RATE_PER_SEC": str(rate_per_sec),
            "SLACKEMU_RATE_BURST": str(rate_burst),
            "SLACKEMU_EXIT_WITH_PARENT": "true",
        }
        self.proc = Process(self.component(), workdir)

    @property
    def base_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/"

    @property
    def webhook_url(self) -> str:
        """Its incoming webhook, which posts to #oncall."""
        return webhooks.url(self.base_url, self.webhook_secret)

    def slack_env(self) -> dict[str, str]:
        """The SLACK_* variables a gateway needs to talk to this emulator."""
        return {
            "SLACK_API_URL": self.api_url,
            "SLACK_BOT_TOKEN": self.bot_token,
            "SLACK_APP_TOKEN": self.app_token,
            "SLACK_SIGNING_SECRET": self.signing_secret,
        }

    def component(self) -> Component:
        health = Health(url=f"{self.base_url}/healthz")
        return python_component(f"slackemu-{self.port}", "slackemu", env=self.env, health=health)

    def start(self) -> SlackEmulator:
        self.proc.component = self.component()  # with what a test changed in `env` since
        self.proc.start()
        return self

    def stop(self) -> None:
        self.proc.stop()

    def control(self) -> EmulatorControl:
        """A new control client; close it (or use `async with`) when done."""
        return EmulatorControl(self.base_url)

    def log_tail(self, lines: int = 60) -> str:
        return self.proc.log_tail(lines)
