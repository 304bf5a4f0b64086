"""End to end in HTTP (Events API) mode: signed POSTs, forged and stale signatures, retries and replicas."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest

from gateway.recovered import RECOVERED
from petstore.client import PetstoreClient
from petstore.v1 import petstore_pb2 as pb
from tests.gateway.conftest import person
from tests.gateway.stack import World
from tools.harness.components import Service
from tools.harness.scaled import start
from tools.harness.servers import running
from tools.harness.wait import eventually

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with running(World(tmp_path_factory.mktemp("http"), socket_mode=False, with_prometheus=False)) as w:
        yield w


@pytest.fixture(scope="module")
def replica(world: World) -> Service:
    """A second gateway replica on the same bus (stopped with the world)."""
    return world.add_gateway()


def signed(secret: str, body: bytes, timestamp: int | None = None, retry: int = 0) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    mac = hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
    headers = {
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": f"v0={mac}",
        "Content-Type": "application/json",
    }
    if retry:
        headers["X-Slack-Retry-Num"] = str(retry)
        headers["X-Slack-Retry-Reason"] = "http_timeout"
    return headers


async def post(port: int, body: bytes, headers: dict[str, str]) -> int:
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"http://127.0.0.1:{port}/slack/events", data=body, headers=headers) as resp,
    ):
        return resp.status


async def bot_replies(control, channel: str, thread_ts: str) -> list[dict[str, Any]]:
    return [
        m
        for m in await control.messages(channel)
        if m["user"] == control.bot_user_id and m.get("thread_ts") == thread_ts and m["ts"] != thread_ts
    ]


async def test_commands_answer_in_the_thread_over_http(world, control):
    dave = await person(control, name="dave")
    _, reply = await dave.ask("help")
    assert "Here is what I can do" in reply["text"]
    _, reply = await dave.ask("show sampling")
    assert "samples traces with: never" in reply["text"]
    _, reply = await dave.ask("list traces since=5m")
    assert "No traces match." in reply["text"] or "newest first" in reply["text"]  # 1 trace, N traces
    _, reply = await dave.ask("history limit=3")
    assert "audit events" in reply["text"] or "Nothing in the audit log" in reply["text"]


async def test_a_slow_backend_gets_a_reaction_then_a_timeout_reply(world, control):
    erin = await person(control, name="erin")
    ts, reply = await erin.ask("deployed version", timeout=60)
    assert "failed (504" in reply["text"] and "timed out" in reply["text"]
    mention = await erin.message(ts)
    assert [r["name"] for r in mention.get("reactions", [])] == ["hourglass_flowing_sand"]


async def test_an_admin_change_over_http_needs_confirm(world, control):
    admin = await person(control, user=world.admin_id, name="httpadmin")
    _, question = await admin.ask("change sampling always")
    await control.click_button(admin.user, admin.channel, question["ts"], "chatops_confirm")

    await admin.updated(question["ts"], "Sampling changed from never to always.")
    async with PetstoreClient(world.petstore.addr) as client:
        assert (await client.get_sampler()).type == pb.SAMPLER_TYPE_ALWAYS


async def test_forged_and_stale_signatures_get_401_and_run_nothing(world, control):
    frank = await person(control, name="frank")
    event = {
        "type": "event_callback",
        "event_id": "Ev0FORGED01",
        "event_time": int(time.time()),
        "team_id": (await control.state())["team_id"],
        "api_app_id": "A0EMU0001",
        "event": {
            "type": "app_mention",
            "user": frank.user,
            "channel": frank.channel,
            "ts": "1700000000.000100",
            "text": f"<@{control.bot_user_id}> change sampling never",
            "event_ts": "1700000000.000100",
        },
    }
    body = json.dumps(event).encode()
    port = world.http_port
    assert await post(port, body, signed("not-the-secret", body)) == 401
    assert await post(port, body, signed(world.slack.signing_secret, body, int(time.time()) - 600)) == 401
    assert await post(port, body, {"Content-Type": "application/json"}) == 401
    tampered = signed(world.slack.signing_secret, body)
    assert await post(port, body.replace(b"never", b"always"), tampered) == 401
    # A genuine command afterwards is the only thing answered in the channel.
    _, reply = await frank.ask("help")
    bot_messages = [m for m in await control.messages(frank.channel) if m["user"] == control.bot_user_id]
    assert [m["ts"] for m in bot_messages] == [reply["ts"]]


async def test_the_same_event_three_times_across_replicas_gets_one_reply(world, replica, control):
    grace = await person(control, name="grace")
    ts, reply = await grace.ask("show sampling")
    delivery = next(d for d in await control.deliveries() if d["payload"].get("event", {}).get("ts") == ts)
    body = json.dumps(delivery["payload"]).encode()
    secret = world.slack.signing_secret
    before = sum(gw.metric("chatops_gateway_duplicate_events_total") for gw in world.gateways)
    assert await post(world.http_port, body, signed(secret, body, retry=1)) == 200
    assert (
        await post(
            int(replica.env["SLACK_HTTP_LISTEN"].rsplit(":", 1)[1]), body, signed(secret, body, retry=2)
        )
        == 200
    )
    await eventually(
        lambda: (
            sum(gw.metric("chatops_gateway_duplicate_events_total") for gw in world.gateways) >= before + 2
        ),
        what="both retries counted as duplicates",
    )
    assert [m["ts"] for m in await bot_replies(control, grace.channel, ts)] == [reply["ts"]]


async def test_a_command_held_by_a_gateway_killed_mid_answer_is_answered_once_by_the_other(
    world, replica, control
):
    first = world.gateways[0]  # the one Slack posts events to
    heidi = await person(control, name="heidi")
    ts = await control.mention(heidi.user, heidi.channel, "deployed version")  # ops waits 5 s on Prometheus

    async def acked() -> bool:
        return any(
            d["acked"] for d in await control.deliveries() if d["payload"].get("event", {}).get("ts") == ts
        )

    await eventually(acked, what="the event acked")
    answered = 'chatops_gateway_recovered_messages_total{outcome="answered"}'
    before = replica.metric(answered)  # a loop stalled past the bound under load may have taken one
    try:
        await asyncio.to_thread(first.kill)  # no drain, no goodbye: the command in its hands is gone
        reply = await control.wait_for_message(heidi.channel, thread_ts=ts, timeout=60)
        assert RECOVERED in reply["text"] and "failed (504" in reply["text"]
        await eventually(lambda: replica.metric(answered) > before, what="the replica counted its recovery")
        assert replica.metric(answered) == before + 1
        assert [m["ts"] for m in await bot_replies(control, heidi.channel, ts)] == [reply["ts"]]
        assert "journal.recovered" in replica.log_tail(200)
    finally:
        await start(first.proc)
