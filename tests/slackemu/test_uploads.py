"""Slack's external upload flow through unmodified slack_sdk: URL, POST of the bytes, completion, sharing."""

from __future__ import annotations

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from slackemu.client import EmulatorControl
from slackemu.files import png_size
from tools.harness.slackemu import SlackEmulator

# The smallest valid PNG: one transparent pixel.
PIXEL = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000b49444154789c6360000200000500017a5eab3f0000000049454e44ae426082"
)


@pytest.fixture
def web(slack_emulator: SlackEmulator) -> AsyncWebClient:
    return AsyncWebClient(token=slack_emulator.bot_token, base_url=slack_emulator.api_url)


async def test_files_upload_v2_shares_the_file_in_the_thread(
    web: AsyncWebClient, slack_control: EmulatorControl, slack_emulator: SlackEmulator
) -> None:
    control = slack_control
    oncall = await control.channel_id("oncall")
    parent = await web.chat_postMessage(channel=oncall, text="an alert")
    done = await web.files_upload_v2(
        channel=oncall,
        thread_ts=parent["ts"],
        file=PIXEL,
        filename="graph.png",
        title="A graph",
        alt_txt="one pixel",
        initial_comment="*the graph*",
    )
    [file] = done["files"]
    assert file["id"].startswith("F") and file["title"] == "A graph"
    assert (file["mimetype"], file["filetype"], file["size"]) == ("image/png", "png", len(PIXEL))
    assert (file["original_w"], file["original_h"], file["alt_txt"]) == (1, 1, "one pixel")

    # The three steps went over the wire in order, and the retired method was not used.
    methods = [r["method"] for r in await control.requests() if r["method"] != "chat.postMessage"]
    assert methods == ["files.getUploadURLExternal", "upload", "files.completeUploadExternal"]

    shared = await control.wait_for_message(oncall, thread_ts=parent["ts"])
    assert shared["text"] == "*the graph*" and shared["upload"] is True
    assert [f["id"] for f in shared["files"]] == [file["id"]]
    replies = await web.conversations_replies(channel=oncall, ts=parent["ts"])
    assert replies["messages"][1]["files"][0]["name"] == "graph.png"

    async with aiohttp.ClientSession() as http:
        async with http.get(file["url_private"]) as resp:
            assert resp.status == 403  # like Slack: the file needs the token
        headers = {"Authorization": f"Bearer {slack_emulator.bot_token}"}
        async with http.get(file["url_private_download"], headers=headers) as resp:
            assert resp.status == 200 and await resp.read() == PIXEL
        async with http.get(f"{slack_emulator.base_url}/control/files/{file['id']}") as resp:
            assert resp.content_type == "image/png" and await resp.read() == PIXEL
    info = await web.files_info(file=file["id"])
    assert info["file"]["channels"] == [oncall]


async def test_the_flow_refuses_what_slack_refuses(
    web: AsyncWebClient, slack_control: EmulatorControl, slack_emulator: SlackEmulator
) -> None:
    oncall = await slack_control.channel_id("oncall")
    with pytest.raises(SlackApiError) as retired:
        await web.api_call("files.upload", data={"channels": oncall, "content": "x"})
    assert retired.value.response["error"] == "method_deprecated"
    with pytest.raises(SlackApiError) as big:
        await web.files_getUploadURLExternal(filename="big.png", length=64 * 1024 * 1024)
    assert big.value.response["error"] == "file_upload_size_restricted"

    reserved = await web.files_getUploadURLExternal(filename="g.png", length=len(PIXEL))
    with pytest.raises(SlackApiError) as early:
        await web.files_completeUploadExternal(files=[{"id": reserved["file_id"]}], channel_id=oncall)
    assert early.value.response["error"] == "file_not_found"  # nothing was uploaded yet
    async with aiohttp.ClientSession() as http:
        async with http.post(reserved["upload_url"], data=PIXEL[:10]) as resp:
            assert resp.status == 400  # not the announced length
        form = aiohttp.FormData()
        form.add_field("file", PIXEL, filename="g.png", content_type="image/png")
        async with http.post(reserved["upload_url"], data=form) as resp:
            assert resp.status == 200 and (await resp.text()) == f"OK - {len(PIXEL)}"
        async with http.post(reserved["upload_url"], data=PIXEL) as resp:
            assert resp.status == 404  # an upload URL is used once
    with pytest.raises(SlackApiError) as thread:
        await web.files_completeUploadExternal(
            files=[{"id": reserved["file_id"]}], channel_id=oncall, thread_ts="1.000001"
        )
    assert thread.value.response["error"] == "thread_not_found"
    await web.files_completeUploadExternal(files=[{"id": reserved["file_id"]}])  # private: no channel
    with pytest.raises(SlackApiError) as again:
        await web.files_completeUploadExternal(files=[{"id": reserved["file_id"]}], channel_id=oncall)
    assert again.value.response["error"] == "file_not_found"  # completed once only
    assert all(not m.get("files") for m in await slack_control.messages(oncall))


def test_png_size_reads_the_header() -> None:
    assert png_size(PIXEL) == (1, 1)
    assert png_size(b"GIF89a" + bytes(30)) is None
