"""Start the Slack emulator as a separate process on a free loopback port, like a real Slack."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from slackemu import webhooks
from slackemu.client import EmulatorControl
from tests.harness.servers import LOOPBACK, Proc, env_with, free_port, wait_http

# The repository root, so `python -m slackemu` works whether or not the package is installed.
ROOT = Path(__file__).resolve().parents[2]


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
        self.env = env_with(
            SLACKEMU_LISTEN=f"{LOOPBACK}:{self.port}",
            SLACKEMU_BOT_TOKEN=self.bot_token,
            SLACKEMU_APP_TOKEN=self.app_token,
            SLACKEMU_SIGNING_SECRET=self.signing_secret,
            SLACKEMU_WEBHOOK_SECRET=self.webhook_secret,
            SLACKEMU_REQUEST_URL=request_url or "",
            SLACKEMU_ACK_TIMEOUT=str(ack_timeout),
            SLACKEMU_MAX_RETRIES=str(max_retries),
            SLACKEMU_RETRY_DELAY=str(retry_delay),
            SLACKEMU_RATE_PER_SEC=str(rate_per_sec),
            SLACKEMU_RATE_BURST=str(rate_burst),
            SLACKEMU_EXIT_WITH_PARENT="true",
            LOG_LEVEL="INFO",
        )
        self.env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), self.env.get("PYTHONPATH")) if p)
        self.proc = Proc([sys.executable, "-m", "slackemu"], workdir, f"slackemu-{self.port}")

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

    def start(self) -> SlackEmulator:
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = open(self.proc.log_path, "ab")  # noqa: SIM115 - owned by the child for its lifetime
        self.proc.proc = subprocess.Popen(
            self.proc.args,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.workdir,
            env=self.env,
            start_new_session=True,
        )
        log.close()
        try:
            wait_http(f"{self.base_url}/healthz", proc=self.proc.proc)
        except (TimeoutError, RuntimeError) as exc:
            self.stop()
            raise RuntimeError(f"slackemu did not start: {exc}\n{self.proc.log_tail()}") from None
        return self

    def stop(self) -> None:
        self.proc.stop()

    def control(self) -> EmulatorControl:
        """A new control client; close it (or use `async with`) when done."""
        return EmulatorControl(self.base_url)

    def log_tail(self, lines: int = 60) -> str:
        return self.proc.log_tail(lines)


@pytest.fixture
def slack_emulator(tmp_path: Path) -> Iterator[SlackEmulator]:
    """A fresh Slack emulator (Socket Mode, default workspace) for one test, stopped after."""
    emulator = SlackEmulator(tmp_path / "slackemu").start()
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture
async def slack_control(slack_emulator: SlackEmulator) -> AsyncIterator[EmulatorControl]:
    """A control client for `slack_emulator`, its state (bot_user_id) already loaded."""
    async with slack_emulator.control() as control:
        await control.state()
        yield control
