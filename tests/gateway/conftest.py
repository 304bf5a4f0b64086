"""Fixtures for end-to-end gateway tests: one whole system per test module, a control client per test."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from typing import Any

import pytest

from slackemu.client import EmulatorControl
from tests.gateway.stack import World

_names = itertools.count(1)


@pytest.fixture
async def control(world: World) -> AsyncIterator[EmulatorControl]:
    """A control client of this module's Slack emulator."""
    async with world.slack.control() as ctl:
        await ctl.state()
        yield ctl


class Person:
    """A human in the emulated workspace who talks to the bot in a channel of their own."""

    def __init__(self, ctl: EmulatorControl, user: str, channel: str) -> None:
        self.ctl, self.user, self.channel = ctl, user, channel

    async def ask(self, text: str, timeout: float = 30.0) -> tuple[str, dict[str, Any]]:
        """Mention the bot; returns the mention's ts and the bot's reply in its thread."""
        ts = await self.ctl.mention(self.user, self.channel, text)
        reply = await self.ctl.wait_for_message(self.channel, thread_ts=ts, timeout=timeout)
        return ts, reply

    async def updated(self, ts: str, needle: str, timeout: float = 30.0) -> dict[str, Any]:
        """The message at `ts` in this channel once an edit made it say `needle`."""
        return await self.ctl.wait_for_update(
            self.channel, ts, predicate=lambda m: needle in m["text"], timeout=timeout
        )

    async def message(self, ts: str) -> dict[str, Any]:
        for msg in await self.ctl.messages(self.channel):
            if msg["ts"] == ts:
                return msg
        raise AssertionError(f"no message {ts} in {self.channel}")


async def person(ctl: EmulatorControl, user: str | None = None, name: str = "user") -> Person:
    """A new channel (and, unless given, a new user) for one test."""
    n = next(_names)
    user = user or await ctl.create_user(f"{name}{n}", f"{name.title()} {n}")
    channel = await ctl.create_channel(f"test-{name}-{n}")
    return Person(ctl, user, channel)
