"""Events API over HTTP: signed POSTs to a bolt web app, url_verification, retries, 401s."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from slack_sdk.signature import SignatureVerifier

from slackemu.client import EmulatorControl
from tests.slackemu.bolt_apps import echo_app
from tools.harness.ports import LOOPBACK, free_port
from tools.harness.slackemu import SlackEmulator
from tools.harness.wait import eventually


async def serve(app: web.Application, port: int) -> web.AppRunner:
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, LOOPBACK, port).start()
    return runner


@pytest.fixture
async def http_pair(tmp_path: Path) -> AsyncIterator[tuple[SlackEmulator, EmulatorControl]]:
    """An emulator in HTTP mode pointed at a bolt app's web_app() (right signing secret)."""
    port = free_port()
    emu = SlackEmulator(tmp_path, request_url=f"http://{LOOPBACK}:{port}/slack/events", retry_delay=0.2)
    emu.start()
    runner = await serve(echo_app(emu).web_app(path="/slack/events"), port)
    try:
        async with emu.control() as control:
            await control.state()
            yield emu, control
    finally:
        await runner.cleanup()
        emu.stop()


async def test_url_verification_and_signed_mention(http_pair: tuple[SlackEmulator, EmulatorControl]) -> None:
    _, control = http_pair
    verification = await control.verify_request_url()
    assert verification == {"ok": True, "status": 200, "error": None}
    alice, oncall = await control.user_id("alice"), await control.channel_id("oncall")
    ts = await control.mention(alice, oncall, "over http")
    reply = await control.wait_for_message(oncall, thread_ts=ts)
    assert reply["text"] == "pong: over http"
    delivery = [d for d in await control.deliveries() if d["event_type"] == "app_mention"][-1]
    assert delivery["mode"] == "http" and delivery["acked"] is True
    assert delivery["attempts"][0]["status"] == 200


async def test_button_click_over_http(http_pair: tuple[SlackEmulator, EmulatorControl]) -> None:
    _, control = http_pair
    alice, oncall = await control.user_id("alice"), await control.channel_id("oncall")
    ts = await control.mention(alice, oncall, "buttons")
    question = await control.wait_for_message(oncall, thread_ts=ts)
    await control.click_button(alice, oncall, question["ts"], "approve", value="v3")

    async def edited() -> dict[str, Any] | None:
        msgs = {m["ts"]: m for m in await control.messages(oncall)}
        return msgs[question["ts"]] if msgs[question["ts"]]["history"] else None

    msg = await eventually(edited, timeout=20)
    assert msg["text"] == f"approved v3 by <@{alice}> in {oncall}"


async def test_wrong_signing_secret_gets_401_and_is_retried(tmp_path: Path) -> None:
    port = free_port()
    emu = SlackEmulator(
        tmp_path, request_url=f"http://{LOOPBACK}:{port}/slack/events", retry_delay=0.2, max_retries=2
    ).start()
    runner = await serve(echo_app(emu, signing_secret="not-the-secret").web_app(path="/slack/events"), port)
    try:
        async with emu.control() as control:
            alice, oncall = await control.user_id("alice"), await control.channel_id("oncall")
            await control.mention(alice, oncall, "anyone?")

            async def given_up() -> dict[str, Any] | None:
                found = [d for d in await control.deliveries() if len(d["attempts"]) == 3]
                return found[0] if found else None

            delivery = await eventually(given_up, timeout=20)
            assert [a["status"] for a in delivery["attempts"]] == [401, 401, 401]
            assert [a["retry_attempt"] for a in delivery["attempts"]] == [0, 1, 2]
            assert [a["retry_reason"] for a in delivery["attempts"]] == ["", "http_error", "http_error"]
            assert delivery["acked"] is False
            assert not [m for m in await control.messages(oncall) if m["user"] == control.bot_user_id]
    finally:
        await runner.cleanup()
        emu.stop()


async def test_retry_headers_and_signature_on_a_failing_endpoint(tmp_path: Path) -> None:
    seen: list[tuple[dict[str, str], bytes]] = []

    async def flaky(request: web.Request) -> web.Response:
        seen.append((dict(request.headers), await request.read()))
        return web.Response(status=500 if len(seen) == 1 else 200)

    app = web.Application()
    app.router.add_post("/events", flaky)
    port = free_port()
    runner = await serve(app, port)
    emu = SlackEmulator(tmp_path, retry_delay=0.2).start()
    try:
        async with emu.control() as control:
            verification = await control.set_request_url(f"http://{LOOPBACK}:{port}/events")
            assert verification is not None and verification["error"] == "challenge_failed"
            seen.clear()
            alice, oncall = await control.user_id("alice"), await control.channel_id("oncall")
            await control.mention(alice, oncall, "flaky")
            await eventually(lambda: len(seen) >= 2, timeout=20, what="the first delivery and its retry")
        verifier = SignatureVerifier(emu.signing_secret)
        for headers, body in seen:
            assert verifier.is_valid_request(body, headers)
        assert "X-Slack-Retry-Num" not in seen[0][0]
        assert seen[1][0]["X-Slack-Retry-Num"] == "1"
        assert seen[1][0]["X-Slack-Retry-Reason"] == "http_error"
        assert seen[0][1] == seen[1][1]  # the same event, the same event_id
        assert not SignatureVerifier("other-secret").is_valid_request(seen[0][1], seen[0][0])
    finally:
        emu.stop()
        await runner.cleanup()
