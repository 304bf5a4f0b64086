"""The users.info cache against the Slack emulator: names are reused, and the cache is an LRU."""

from __future__ import annotations

from slack_sdk.web.async_client import AsyncWebClient

from gateway.slack.chat import SlackChat
from tools.harness.slackemu import SlackEmulator


async def test_user_names_are_cached_least_recently_used_first(slack_emulator: SlackEmulator) -> None:
    async with slack_emulator.control() as control:
        users = [await control.create_user(f"cached{i}", f"Cached {i}") for i in range(5)]
        chat = SlackChat(
            AsyncWebClient(token=slack_emulator.bot_token, base_url=slack_emulator.api_url), max_names=3
        )

        async def lookups() -> int:
            return len(await control.requests("users.info"))

        for i, user in enumerate(users[:3]):
            assert await chat.user_name(user) == f"cached{i}"
        before = await lookups()
        assert await chat.user_name(users[0]) == "cached0"  # cached: no call, and now the newest
        assert await lookups() == before
        await chat.user_name(users[3])  # evicts users[1], the least recently used
        await chat.user_name(users[4])  # evicts users[2]
        assert chat.cached_names() == 3
        before = await lookups()
        await chat.user_name(users[0])
        assert await lookups() == before  # still cached
        await chat.user_name(users[1])
        assert await lookups() == before + 1  # evicted, so asked again
        assert await chat.user_name("UNOSUCHUSER") == "UNOSUCHUSER"  # Slack cannot say: the id itself
        assert chat.cached_names() == 3
