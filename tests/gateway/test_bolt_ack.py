"""bolt acknowledges a chat message only once the gateway has journaled it, in Socket Mode and in HTTP
mode, and a gateway stopped meanwhile answers it in its drain: the real AsyncApp dispatching an
envelope, against the offline Slack (for auth.test) and real KV."""

from __future__ import annotations

import asyncio
import json

import pytest
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.web.async_client import AsyncWebClient

from chatops import codec
from chatops.subjects import KV_JOURNAL
from chatops.v1.records_pb2 import JournalEntry
from gateway.journal import Accepted
from gateway.slack.app import InFlight, register
from gateway.slack.events import ChatMessage
from gateway.slack.handlers import SlackGateway
from tests.gateway.test_handlers import RecordingChat
from tests.gateway.test_journal import Asked, replica
from tools.harness.wait import eventually


class Noting:
    """The gateway as bolt's taker, noting each message once `accept` has journaled it."""

    def __init__(self, gw: SlackGateway) -> None:
        self.gw = gw
        self.journaled: list[str] = []

    async def accept(self, msg: ChatMessage) -> Accepted:
        accepted = await self.gw.accept(msg)
        self.journaled.append(msg.dedupe_key)
        return accepted

    async def handle(self, msg: ChatMessage, accepted: Accepted) -> None:
        await self.gw.handle(msg, accepted)


class Stalled(Noting):
    """A gateway whose journal write stalls (its NATS node restarting, a loaded machine) until let go."""

    def __init__(self, gw: SlackGateway) -> None:
        super().__init__(gw)
        self.stalled, self.go = asyncio.Event(), asyncio.Event()

    async def accept(self, msg: ChatMessage) -> Accepted:
        self.stalled.set()
        await self.go.wait()
        return await super().accept(msg)


def mention(event_id: str, bot_user_id: str) -> dict[str, object]:
    return {
        "type": "event_callback",
        "event_id": event_id,
        "event": {
            "type": "app_mention",
            "user": "U0ASKER",
            "channel": "C0ACK",
            "ts": "1700000000.000200",
            "text": f"<@{bot_user_id}> help",
        },
    }


@pytest.mark.parametrize("mode", ["socket_mode", "http"])
async def test_bolt_acks_a_message_only_once_it_is_journaled(nc, slack_emulator, slack_control, mode):
    chat = RecordingChat()
    gw = await replica(nc, "bolt", chat, Asked())
    client = AsyncWebClient(token=slack_emulator.bot_token, base_url=slack_emulator.api_url)
    app = AsyncApp(client=client, request_verification_enabled=False, name="ack-order")
    taker = Noting(gw)
    register(app, taker, {})
    event_id = f"Ev0ACK{mode.upper().replace('_', '')}"
    body = mention(event_id, slack_control.bot_user_id)
    request = AsyncBoltRequest(body=body if mode == "socket_mode" else json.dumps(body), mode=mode)
    response = await app.async_dispatch(request)  # what bolt sends Slack as the ack
    # Journaled before the ack: the listener, a task bolt starts as it acks, cannot have written it.
    assert taker.journaled == [event_id] and response.status == 200
    kv = await nc.jetstream().key_value(KV_JOURNAL)
    entry = codec.decode((await kv.get(event_id)).value or b"", JournalEntry)
    assert (entry.channel, entry.thread_ts, entry.user, entry.text) == (
        "C0ACK",
        "1700000000.000200",
        "U0ASKER",
        "help",
    )

    async def done() -> bool:
        stored = codec.decode((await kv.get(event_id)).value or b"", JournalEntry)
        return stored.done and len(chat.posts) == 1

    await eventually(done, what="answered, then marked done")
    assert "Here is what I can do" in chat.posts[0][2]


async def test_a_gateway_stopped_while_it_journals_a_message_answers_it_before_it_lets_go(
    nc, slack_emulator, slack_control
):
    # SIGTERM lands while the middleware journals the message: Slack may have its ack, or redeliver
    # it to a replica that finds it journaled and drops it. Either way this gateway is the one to
    # answer it, so its drain waits for the message as for any other under way (not a recovery 30 s on).
    chat = RecordingChat()
    client = AsyncWebClient(token=slack_emulator.bot_token, base_url=slack_emulator.api_url)
    app = AsyncApp(client=client, request_verification_enabled=False, name="drain")
    taker, inflight = Stalled(await replica(nc, "stopping", chat, Asked())), InFlight()
    register(app, taker, {}, inflight)
    request = AsyncBoltRequest(body=mention("Ev0DRAIN", slack_control.bot_user_id), mode="socket_mode")
    dispatching = asyncio.create_task(app.async_dispatch(request))
    await eventually(taker.stalled.is_set, what="the journal write under way")
    draining = asyncio.create_task(inflight.drain(timeout=30))
    taker.go.set()
    await draining
    assert len(chat.posts) == 1 and "Here is what I can do" in chat.posts[0][2]
    assert (await dispatching).status == 200
    kv = await nc.jetstream().key_value(KV_JOURNAL)
    assert codec.decode((await kv.get("Ev0DRAIN")).value or b"", JournalEntry).done
