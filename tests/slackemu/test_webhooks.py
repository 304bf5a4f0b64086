"""Incoming webhooks: what Alertmanager's slack_configs (and any script) post, answered as Slack does."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import pytest

from slackemu import webhooks
from slackemu.client import EmulatorControl
from slackemu.core import Config, Emulator
from tools.harness.servers import running
from tools.harness.slackemu import SlackEmulator

# The shape Alertmanager 0.25 sends (captured from a real one): attachments only, no top-level text.
ALERTMANAGER_BODY = {
    "username": "Alertmanager",
    "attachments": [
        {
            "title": "[FIRING:1] ChatopsGatewayDown",
            "title_link": "http://127.0.0.1:9093/#/alerts?receiver=chatops-direct",
            "text": "Prometheus cannot scrape the gateway.",
            "fallback": "[FIRING:1] ChatopsGatewayDown",
            "color": "danger",
            "mrkdwn_in": ["fallback", "pretext", "text"],
        }
    ],
}


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SlackEmulator]:
    with running(SlackEmulator(tmp_path_factory.mktemp("hooks"))) as emu:
        yield emu


@pytest.fixture
async def control(emulator: SlackEmulator) -> AsyncIterator[EmulatorControl]:
    async with emulator.control() as ctl:
        await ctl.clear_faults()
        await ctl.clear_requests()
        yield ctl


async def send(url: str, body: Any = None, *, data: Any = None) -> tuple[int, str, str]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(url, json=body, data=data) as resp,
    ):
        return resp.status, resp.headers.get("Content-Type", ""), await resp.text()


async def test_a_text_post_lands_in_oncall_from_the_webhook_bot(emulator, control):
    status, ctype, text = await send(
        emulator.webhook_url, {"text": "hello from a script", "channel": "#general"}
    )
    assert (status, text) == (200, "ok") and ctype.startswith("text/plain")
    oncall = await control.channel_id("oncall")
    [msg] = [m for m in await control.messages(oncall) if m["text"] == "hello from a script"]
    assert msg["user"] == webhooks.HOOK_USER and msg["bot_id"] == webhooks.HOOK_ID
    general = await control.channel_id("general")
    assert all(m["text"] != "hello from a script" for m in await control.messages(general))
    state = await control.state()
    assert {"id": webhooks.HOOK_USER, "name": webhooks.HOOK_NAME} in [
        {"id": u["id"], "name": u["name"]} for u in state["users"] if u["is_bot"]
    ]


async def test_alertmanagers_attachments_are_kept_and_a_form_payload_works(emulator, control):
    assert (await send(emulator.webhook_url, ALERTMANAGER_BODY))[::2] == (200, "ok")
    form = {"payload": json.dumps({"text": "legacy form post"})}
    assert (await send(emulator.webhook_url, data=form))[::2] == (200, "ok")
    oncall = await control.channel_id("oncall")
    messages = await control.messages(oncall)
    [alert] = [m for m in messages if m.get("attachments")]
    assert alert["text"] == "" and alert["attachments"] == ALERTMANAGER_BODY["attachments"]
    assert any(m["text"] == "legacy form post" for m in messages)


@pytest.mark.parametrize(
    ("body", "data", "status", "error"),
    [
        (None, b"not json", 400, "invalid_payload"),
        (["a", "list"], None, 400, "invalid_payload"),
        ({"text": 42}, None, 400, "invalid_payload"),
        ({"attachments": "nope"}, None, 400, "invalid_payload"),
        ({}, None, 400, "no_text"),
        ({"text": "", "blocks": []}, None, 400, "no_text"),
        (
            {"blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}]},
            None,
            400,
            "invalid_blocks",
        ),
    ],
)
async def test_bad_payloads_get_slacks_error_words(emulator, control, body, data, status, error):
    assert (await send(emulator.webhook_url, body, data=data))[::2] == (status, error)
    [entry] = await control.requests(webhooks.LOG_METHOD)
    assert (entry["status"], entry["ok"], entry["error"]) == (status, False, error)


async def test_a_wrong_secret_or_hook_is_refused_and_no_secret_is_logged(emulator, control):
    base = emulator.base_url
    wrong_secret = webhooks.url(base, "not-the-secret")
    assert (await send(wrong_secret, {"text": "x"}))[::2] == (403, "invalid_token")
    wrong_hook = f"{base}/services/{webhooks.TEAM_ID}/B0NOSUCH/{emulator.webhook_secret}"
    assert (await send(wrong_hook, {"text": "x"}))[::2] == (404, "no_service")
    log = json.dumps(await control.requests())
    assert emulator.webhook_secret not in log and len(await control.requests(webhooks.LOG_METHOD)) == 2


async def test_faults_switch_webhooks_off_without_touching_the_web_api(emulator, control):
    await control.set_fault("server_error", methods=["chat.postMessage"], seconds=60)
    assert (await send(emulator.webhook_url, {"text": "still works"}))[::2] == (200, "ok")
    await control.set_fault("server_error", methods=[webhooks.LOG_METHOD], count=1)
    assert (await send(emulator.webhook_url, {"text": "first"}))[::2] == (500, "rollup_error")
    assert (await send(emulator.webhook_url, {"text": "second"}))[::2] == (200, "ok")
    await control.set_fault("ratelimited", methods=[webhooks.LOG_METHOD], count=1)
    assert (await send(emulator.webhook_url, {"text": "third"}))[::2] == (429, "rate_limited")


def _emulator(**config: Any) -> Emulator:
    return Emulator(Config("http://127.0.0.1:1", "xoxb-1", "xapp-1", "s", "v", **config))


def test_a_webhook_whose_channel_is_gone_or_unset_says_so() -> None:
    emu = _emulator(webhook_secret="s3", webhook_channel="deleted-channel")
    with pytest.raises(webhooks.Refused) as gone:
        webhooks.post(emu, webhooks.TEAM_ID, webhooks.HOOK_ID, "s3", {"text": "x"})
    assert (gone.value.status, gone.value.error) == (404, "channel_not_found")
    with pytest.raises(webhooks.Refused) as none:
        webhooks.post(_emulator(), webhooks.TEAM_ID, webhooks.HOOK_ID, "", {"text": "x"})
    assert (none.value.status, none.value.error) == (404, "no_service")


def test_the_url_is_slacks_shape() -> None:
    assert (
        webhooks.url("http://127.0.0.1:3001/", "abc")
        == "http://127.0.0.1:3001/services/T0EMU0001/B0EMUHOOK/abc"
    )
