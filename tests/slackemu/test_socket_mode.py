"""Socket Mode against unmodified slack-bolt: mentions, DMs, buttons, acks, redelivery, reconnects."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_sdk.web.async_client import AsyncWebClient

from slackemu.client import EmulatorControl
from tests.slackemu.bolt_apps import echo_app
from tools.harness.slackemu import SlackEmulator
from tools.harness.wait import eventually


@pytest.fixture
def control(slack_control: EmulatorControl) -> EmulatorControl:
    return slack_control


@pytest.fixture
async def bolt(slack_emulator: SlackEmulator, control: EmulatorControl) -> AsyncIterator[Any]:
    handler = AsyncSocketModeHandler(echo_app(slack_emulator), slack_emulator.app_token, ping_interval=1)
    await handler.connect_async()
    try:
        await control.wait_connected()
        yield handler
    finally:
        await handler.close_async()


async def test_mention_gets_a_reply_in_its_thread(control: EmulatorControl, bolt: Any) -> None:
    alice, oncall = await control.user_id("alice"), await control.channel_id("oncall")
    ts = await control.mention(alice, oncall, "hello there")
    reply = await control.wait_for_message(oncall, thread_ts=ts)
    assert reply["text"] == "pong: hello there"
    assert reply["thread_ts"] == ts
    assert reply["bot_id"] == (await control.state())["bot_id"]
    posts = await control.requests("chat.postMessage")
    assert posts[-1]["args"]["thread_ts"] == ts
    assert posts[-1]["token_kind"] == "bot"


async def test_dm_becomes_message_im(control: EmulatorControl, bolt: Any) -> None:
    bob = await control.user_id("bob")
    dm = await control.open_im(bob)
    await control.post_message(bob, dm, "status?")
    reply = await control.wait_for_message(dm)
    assert reply["text"] == "dm: status?"
    events = [d for d in await control.deliveries() if d["event_type"] == "message"]
    assert events[-1]["payload"]["event"]["channel_type"] == "im"
    assert events[-1]["acked"] is True


async def test_button_click_reaches_bolt_and_respond_replaces_the_message(
    control: EmulatorControl, bolt: Any
) -> None:
    alice, oncall = await control.user_id("alice"), await control.channel_id("oncall")
    ts = await control.mention(alice, oncall, "buttons")
    question = await control.wait_for_message(oncall, thread_ts=ts)
    await control.click_button(alice, oncall, question["ts"], "approve")

    msg = await control.wait_for_update(oncall, question["ts"])
    assert msg["text"] == f"approved v2 by <@{alice}> in {oncall}"
    assert msg["history"][0]["text"] == "Deploy v2?"
    click = [d for d in await control.deliveries() if d["kind"] == "interactive"][-1]
    payload = click["payload"]
    assert click["acked"] is True
    assert payload["type"] == "block_actions"
    assert payload["actions"][0]["action_id"] == "approve"
    assert payload["actions"][0]["block_id"] == "decide"
    assert payload["container"]["message_ts"] == question["ts"]
    assert payload["message"]["ts"] == question["ts"]


async def test_unacked_envelope_is_redelivered_with_retry_attempt(tmp_path: Path) -> None:
    emu = SlackEmulator(tmp_path, ack_timeout=1.0, max_retries=2).start()
    try:
        async with emu.control() as control, aiohttp.ClientSession() as http:
            web = AsyncWebClient(token=emu.app_token, base_url=emu.api_url)
            url = (await web.apps_connections_open(app_token=emu.app_token))["url"]
            async with http.ws_connect(url) as sock:
                hello = await sock.receive_json(timeout=20)
                assert hello["type"] == "hello"
                alice, oncall = await control.user_id("alice"), await control.channel_id("oncall")
                await control.mention(alice, oncall, "are you there?")
                first = await sock.receive_json(timeout=20)
                second = await sock.receive_json(timeout=20)  # first is never acked
                assert first["type"] == second["type"] == "events_api"
                assert (first["retry_attempt"], second["retry_attempt"]) == (0, 1)
                assert second["retry_reason"] == "timeout"
                assert second["payload"]["event_id"] == first["payload"]["event_id"]
                assert second["payload"]["event"]["type"] == "app_mention"
                await sock.send_str(json.dumps({"envelope_id": second["envelope_id"]}))

                async def acked() -> dict[str, Any] | None:
                    return next((d for d in await control.deliveries() if d["acked"]), None)

                delivery = await eventually(acked, timeout=20, what="the retried envelope acked")
                assert [a["retry_attempt"] for a in delivery["attempts"]] == [0, 1]
    finally:
        emu.stop()


async def test_disconnect_makes_bolt_reconnect(control: EmulatorControl, bolt: Any) -> None:
    assert await control.disconnect_sockets() == 1
    await control.wait_connected()
    alice, general = await control.user_id("alice"), await control.channel_id("general")
    ts = await control.mention(alice, general, "still there?")
    assert (await control.wait_for_message(general, thread_ts=ts))["text"] == "pong: still there?"


async def test_socket_drop_fault_then_bolt_comes_back_and_gets_queued_events(
    control: EmulatorControl, bolt: Any
) -> None:
    await control.set_fault("socket_drop", seconds=2)
    alice, oncall = await control.user_id("alice"), await control.channel_id("oncall")
    ts = await control.mention(alice, oncall, "after the outage")
    reply = await control.wait_for_message(oncall, thread_ts=ts, timeout=30)
    assert reply["text"] == "pong: after the outage"
    assert (await control.state())["socket_connections"] == 1


async def test_envelopes_are_spread_over_connections_and_each_goes_once(
    slack_emulator: SlackEmulator, control: EmulatorControl
) -> None:
    web = AsyncWebClient(token=slack_emulator.app_token, base_url=slack_emulator.api_url)
    received: list[list[str]] = [[], []]

    async def serve(sock: aiohttp.ClientWebSocketResponse, into: list[str]) -> None:
        async for frame in sock:
            message = json.loads(frame.data)
            if "envelope_id" in message:
                into.append(message["payload"]["event"]["text"])
                await sock.send_str(json.dumps({"envelope_id": message["envelope_id"]}))

    async with aiohttp.ClientSession() as http:
        socks = [
            await http.ws_connect(
                (await web.apps_connections_open(app_token=slack_emulator.app_token))["url"]
            )
            for _ in range(2)
        ]
        readers = [asyncio.ensure_future(serve(s, r)) for s, r in zip(socks, received, strict=True)]
        try:
            await control.wait_connected(2)
            alice, oncall = await control.user_id("alice"), await control.channel_id("oncall")
            for i in range(4):
                await control.mention(alice, oncall, f"n{i}")

            async def all_acked() -> list[dict[str, Any]] | None:
                found = [d for d in await control.deliveries() if d["acked"]]
                return found if len(found) == 4 else None

            deliveries = await eventually(all_acked, timeout=20, what="all four envelopes acked")
        finally:
            for task in readers:
                task.cancel()
            for sock in socks:
                await sock.close()
    assert all(len(d["attempts"]) == 1 for d in deliveries)
    assert received[0] and received[1]
    assert sorted(t.split()[-1] for t in received[0] + received[1]) == ["n0", "n1", "n2", "n3"]


async def test_a_one_off_socket_drop_is_survived(control: EmulatorControl, bolt: Any) -> None:
    await control.set_fault("socket_drop")
    assert (await control.state())["faults"] == []
    await control.wait_connected()
    alice, oncall = await control.user_id("alice"), await control.channel_id("oncall")
    ts = await control.mention(alice, oncall, "blip")
    assert (await control.wait_for_message(oncall, thread_ts=ts, timeout=30))["text"] == "pong: blip"


async def test_a_websocket_url_works_once(slack_emulator: SlackEmulator) -> None:
    web = AsyncWebClient(token=slack_emulator.app_token, base_url=slack_emulator.api_url)
    url = (await web.apps_connections_open(app_token=slack_emulator.app_token))["url"]
    assert url.startswith(f"ws://127.0.0.1:{slack_emulator.port}/link/?ticket=")
    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(url) as sock:
            assert (await sock.receive_json(timeout=20))["type"] == "hello"
        with pytest.raises(aiohttp.WSServerHandshakeError) as again:
            await http.ws_connect(url)
        assert again.value.status == 401


async def _open_socket(
    http: aiohttp.ClientSession, emulator: SlackEmulator
) -> aiohttp.ClientWebSocketResponse:
    web = AsyncWebClient(token=emulator.app_token, base_url=emulator.api_url)
    url = (await web.apps_connections_open(app_token=emulator.app_token))["url"]
    return await http.ws_connect(url)


async def test_an_app_holds_ten_sockets_and_the_eleventh_is_told_too_many(
    slack_emulator: SlackEmulator, control: EmulatorControl
) -> None:
    async with aiohttp.ClientSession() as http:
        socks = [await _open_socket(http, slack_emulator) for _ in range(10)]
        try:
            hellos = [await sock.receive_json(timeout=20) for sock in socks]
            assert [h["num_connections"] for h in hellos] == list(range(1, 11))
            await control.wait_connected(10)
            extra = await _open_socket(http, slack_emulator)
            said = await extra.receive_json(timeout=20)
            assert said == {
                "type": "disconnect",
                "reason": "too_many_websockets",
                "debug_info": {"host": "applink-emulator"},
            }
            assert (await extra.receive(timeout=20)).type == aiohttp.WSMsgType.CLOSE
            assert (await control.state())["socket_connections"] == 10
        finally:
            for sock in socks:
                await sock.close()


async def test_a_duplicated_event_goes_on_two_sockets_at_once_the_second_as_a_retry(
    slack_emulator: SlackEmulator, control: EmulatorControl
) -> None:
    received: list[list[dict[str, Any]]] = [[], []]

    async def serve(sock: aiohttp.ClientWebSocketResponse, into: list[dict[str, Any]]) -> None:
        async for frame in sock:
            message = json.loads(frame.data)
            if "envelope_id" in message:
                into.append(message)
                await sock.send_str(json.dumps({"envelope_id": message["envelope_id"]}))

    async with aiohttp.ClientSession() as http:
        socks = [await _open_socket(http, slack_emulator) for _ in range(2)]
        readers = [asyncio.ensure_future(serve(s, r)) for s, r in zip(socks, received, strict=True)]
        try:
            await control.wait_connected(2)
            await control.set_fault("socket_duplicate", count=1)
            alice, oncall = await control.user_id("alice"), await control.channel_id("oncall")
            await control.mention(alice, oncall, "twice")
            await control.mention(alice, oncall, "once")

            async def both_acked() -> list[dict[str, Any]] | None:
                found = [d for d in await control.deliveries() if d["acked"]]
                return found if len(found) == 2 and sum(map(len, received)) == 3 else None

            deliveries: list[dict[str, Any]] = await eventually(
                both_acked, timeout=20, what="both events acked, three copies received"
            )
        finally:
            for task in readers:
                task.cancel()
            for sock in socks:
                await sock.close()

    def is_twice(m: dict[str, Any]) -> bool:
        return str(m["payload"]["event"]["text"]).endswith("twice")

    assert [len([m for m in got if is_twice(m)]) for got in received] == [1, 1]  # one copy on each socket
    twice = [m for got in received for m in got if is_twice(m)]
    assert {m["envelope_id"] for m in twice} == {twice[0]["envelope_id"]}
    assert sorted(m["retry_attempt"] for m in twice) == [0, 1]
    assert {m["retry_reason"] for m in twice if m["retry_attempt"]} == {"timeout"}
    assert len(received[0] + received[1]) - len(twice) == 1  # the fault was used up
    by_text = {d["payload"]["event"]["text"].split()[-1]: d for d in deliveries}
    assert len(by_text["twice"]["attempts"]) == 2 and len(by_text["once"]["attempts"]) == 1
