"""End to end in Socket Mode: Slack emulator -> gateway -> NATS -> real ops -> petstore and friends."""

from __future__ import annotations

import io
import json
import re
import time
from collections.abc import Iterator
from datetime import date
from typing import Any

import aiohttp
import pytest
from nats.aio.client import Client
from PIL import Image
from playwright.async_api import expect

from chatops import codec
from chatops.bus import Caller, call
from chatops.contract import command
from chatops.subjects import H_MSG_ID, alert_subject
from chatops.v1 import events_pb2, traces_pb2
from petstore.client import PetstoreClient
from petstore.model import Pet, PetKind
from petstore.v1 import petstore_pb2 as pb
from tests.gateway.conftest import Person, person
from tests.gateway.stack import World
from tools.harness.browser import ARTIFACTS, chromium_page
from tools.harness.servers import running
from tools.harness.wait import eventually

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with running(World(tmp_path_factory.mktemp("socket"), socket_mode=True, with_prometheus=True)) as w:
        yield w


async def wait_for_traces(w: World) -> list[traces_pb2.TraceSummary]:
    """Make traced petstore calls until ops's trace store lists some."""
    nc: Client = await w.nats.connect("tools")

    async def listed() -> list[traces_pb2.TraceSummary]:
        async with PetstoreClient(w.petstore.addr, trace=True) as client:
            await client.add([Pet(name="Rex", kind=PetKind.CANINE, birthday=date(2020, 1, 2))])
        request = traces_pb2.ListTracesRequest(limit=5)
        reply = await call(nc, command("traces.list"), request, Caller(actor="test"), timeout=20)
        assert isinstance(reply, traces_pb2.ListTracesReply)
        return list(reply.traces)

    try:
        found: list[traces_pb2.TraceSummary] = await eventually(
            listed, timeout=60, interval=1.0, what="a trace in ops's store"
        )
        return found
    finally:
        await nc.close()


async def test_read_commands_answer_in_the_thread_of_the_mention(world, control):
    bob = await person(control, name="bob")
    _, reply = await bob.ask("deployed version")
    assert "Deployed version: 1.0.0" in reply["text"]
    assert reply["thread_ts"] and reply["user"] == control.bot_user_id
    _, reply = await bob.ask("help")
    assert "Here is what I can do" in reply["text"] and "list traces" in reply["text"]
    _, reply = await bob.ask("help silence")
    # The fallback text is mrkdwn too: Slack shows &lt; as <.
    assert "silence &lt;matchers&gt; for=&lt;duration&gt;" in reply["text"]
    _, reply = await bob.ask("show sampling")
    assert "samples traces with: never" in reply["text"]
    _, reply = await bob.ask("alerts state=firing")
    assert "GatewayTestAlwaysFiring" in reply["text"] and "team=chatops" in reply["text"]
    _, reply = await bob.ask("lsit traces")
    assert "Did you mean `list traces`?" in reply["text"]


async def test_trace_commands_accept_pasted_links(world, control):
    traces = await wait_for_traces(world)
    tid = traces[0].trace_id
    bob = await person(control, name="tracer")
    _, reply = await bob.ask("list traces since=1h limit=5")
    assert "newest first" in reply["text"] and tid in reply["text"]  # "1 trace" or "N traces"
    # Paste the link exactly as Slack would put it into the text of the next message.
    pasted = re.search(rf"<[^<>|]*/trace/{tid}\|{tid}>", json.dumps(reply["blocks"]))
    assert pasted is not None, reply["blocks"]
    _, reply = await bob.ask(f"show trace {pasted.group(0)}")
    assert f"Trace {tid}" in reply["text"], reply["text"]
    assert traces[0].root_operation in reply["text"], reply["text"]
    _, reply = await bob.ask(f"show logs <{tid}>")
    assert tid in reply["text"] and (
        "log lines of trace" in reply["text"] or "has no log lines" in reply["text"]
    )
    _, reply = await bob.ask("show trace 0123456789abcdef0123456789abcdef")
    assert "failed (404" in reply["text"]


async def test_direct_messages_are_commands_too(world, control):
    user = await control.create_user("dmuser", "DM User")
    im = await control.open_im(user)
    ts = await control.post_message(user, im, "deployed version")
    reply = await control.wait_for_message(im, thread_ts=ts, timeout=30)
    assert "Deployed version: 1.0.0" in reply["text"]


async def test_a_non_admin_change_is_refused_audited_and_changes_nothing(world, control):
    mallory = await person(control, name="mallory")
    _, reply = await mallory.ask("change sampling always")
    assert "only admins may run it" in reply["text"]
    assert f"<@{world.admin_id}>" in str(reply["blocks"])
    assert "actions" not in str(reply["blocks"])  # no buttons for a non-admin
    async with PetstoreClient(world.petstore.addr) as client:
        assert (await client.get_sampler()).type == pb.SAMPLER_TYPE_NEVER
    _, history = await mallory.ask(f"history user=<@{mallory.user}> command=sampling.set")
    assert "sampling.set" in history["text"] and "error 403" in history["text"]


async def test_a_slack_connect_guest_from_another_workspace_is_refused_and_audited(world, control):
    # The emulator sends the guest's own workspace in team/user_team/source_team, as Slack does.
    guest = await control.create_user("guest", "Gus Guest", team_id="T0OTHER01")
    visitor = await person(control, user=guest, name="guest")
    _, reply = await visitor.ask("deployed version")
    assert reply["text"] == "Sorry, I only take commands from people in my own workspace."
    bob = await person(control, name="auditor")
    _, history = await bob.ask(f"history user=<@{guest}>")
    assert "version.get" in history["text"] and "error 403" in history["text"]


async def test_an_admin_change_runs_only_after_the_same_admin_confirms(world, control):
    admin = await person(control, user=world.admin_id, name="admin")
    _, question = await admin.ask("change sampling float 0.5")
    assert "Run `change sampling float 0.5`?" in question["text"]
    assert "chatops_confirm" in str(question["blocks"]) and "chatops_cancel" in str(question["blocks"])
    intruder = await control.create_user(f"intruder{time.monotonic_ns()}", "Intruder")
    await control.click_button(intruder, admin.channel, question["ts"], "chatops_confirm")
    note = await control.wait_for_message(
        admin.channel, predicate=lambda m: m.get("ephemeral_to") == intruder
    )
    assert f"Only <@{admin.user}> can confirm" in note["text"]
    async with PetstoreClient(world.petstore.addr) as client:
        assert (await client.get_sampler()).type == pb.SAMPLER_TYPE_NEVER

    await control.click_button(admin.user, admin.channel, question["ts"], "chatops_confirm")
    done = await admin.updated(question["ts"], "Sampling changed from never to float 0.5.")
    assert "Confirmed by" in done["text"] and "chatops_confirm" not in str(done["blocks"])
    async with PetstoreClient(world.petstore.addr) as client:
        sampler = await client.get_sampler()
    assert sampler.type == pb.SAMPLER_TYPE_FLOAT and sampler.float_value == 0.5

    _, question = await admin.ask("change sampling never")
    await control.click_button(admin.user, admin.channel, question["ts"], "chatops_cancel")
    await admin.updated(question["ts"], "Cancelled by")
    async with PetstoreClient(world.petstore.addr) as client:
        assert (await client.get_sampler()).type == pb.SAMPLER_TYPE_FLOAT


async def test_an_admin_silence_is_confirmed_and_created_in_alertmanager(world, control):
    admin = await person(control, user=world.admin_id, name="silencer")
    _, question = await admin.ask("silence alertname=GatewayTestAlwaysFiring for=1h testing the gateway")
    await control.click_button(admin.user, admin.channel, question["ts"], "chatops_confirm")
    done = await admin.updated(question["ts"], "Silenced.")
    assert "silence id" in done["text"]


async def graph_in_thread(who: Person, text: str) -> tuple[str, dict[str, Any]]:
    """Ask for a graph until Prometheus has the samples a rate needs; the reply then carries a file."""

    async def drawn() -> tuple[str, dict[str, Any]] | None:
        ts, reply = await who.ask(text, timeout=60)
        if reply.get("files"):
            return ts, reply
        if "no data" not in reply["text"]:
            pytest.fail(f"not a graph and not 'no data': {reply['text']}")
        return None

    found: tuple[str, dict[str, Any]] = await eventually(
        drawn, timeout=60, interval=1.0, what="Prometheus having the samples for a graph"
    )
    return found


async def test_graph_puts_a_png_in_the_thread_and_the_page_shows_it(world, control, tmp_path):
    async with PetstoreClient(world.petstore.addr) as client:
        for _ in range(5):
            await client.add([Pet(name="Rex", kind=PetKind.CANINE, birthday=date(2020, 1, 2))])
    grace = await person(control, name="grace")
    ts, reply = await graph_in_thread(grace, "graph rate(petstore_requests_total[1m])")
    assert reply["thread_ts"] == ts and reply["user"] == control.bot_user_id
    assert "Graph of `rate(petstore_requests_total[1m])`" in reply["text"]
    [file] = reply["files"]
    assert (file["mimetype"], file["original_w"], file["original_h"]) == ("image/png", 1200, 640)
    # The file Slack holds is the PNG ops drew: decode it, check its size and that it is not blank.
    headers = {"Authorization": f"Bearer {world.slack.bot_token}"}
    async with aiohttp.ClientSession() as http, http.get(file["url_private"], headers=headers) as resp:
        png = await resp.read()
    image = Image.open(io.BytesIO(png)).convert("RGB")
    assert image.size == (1200, 640)
    colours = image.getcolors(maxcolors=1200 * 640) or []
    assert len(colours) > 20 and max(n for n, _ in colours) < 0.97 * 1200 * 640, "a blank picture"
    uploads = [r["method"] for r in await control.requests() if r["method"].startswith(("files.", "upload"))]
    assert uploads[-3:] == ["files.getUploadURLExternal", "upload", "files.completeUploadExternal"]

    _, reply = await grace.ask("graph rate(petstore_requests_total[1m]")
    assert "failed (400" in reply["text"] and "parse error" in reply["text"] and "\n" not in reply["text"]
    _, reply = await grace.ask("graph up for=30d")
    assert reply["text"].endswith("the range 30d is too long: a graph covers at most 7d")
    assert "\n" not in reply["text"]
    # This system is minutes old: a short window shows its few minutes of traffic at a readable size.
    _, reply = await graph_in_thread(
        grace, "graph sum by (method) (rate(petstore_requests_total[30s])) for=3m"
    )
    [file] = reply["files"]

    async with chromium_page(tmp_path / "chromium", height=900) as page:
        await page.goto(world.slack.base_url + "/")
        await page.locator(f'#channels li[data-id="{grace.channel}"]').click()
        picture = page.locator(f'.thread figure.file[data-file-id="{file["id"]}"] img')
        await expect(picture).to_be_visible(timeout=20_000)
        # decode() waits for the picture to load: visible is not yet loaded on a busy machine.
        assert await picture.evaluate("img => img.decode().then(() => img.naturalWidth)") == 1200
        await picture.scroll_into_view_if_needed()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shot = ARTIFACTS / "graph-in-chat.png"
        await page.screenshot(path=str(shot))
        assert shot.stat().st_size > 20_000


async def test_with_ops_stopped_users_hear_it_and_after_a_restart_commands_work(world, control):
    carol = await person(control, name="carol")
    world.ops.stop()
    try:
        _, reply = await carol.ask("deployed version")
        # "not answering" is NATS's no-responders, said at once; a timeout would read differently.
        assert "the Ops service is not answering" in reply["text"]
        assert "in time" not in reply["text"]
    finally:
        world.ops.start()

    async def answered() -> bool:
        _, reply = await carol.ask("deployed version")
        return "Deployed version: 1.0.0" in reply["text"]

    await eventually(answered, timeout=60, interval=1.0, what="commands working after ops restarted")


async def test_slack_rate_limits_and_server_errors_are_retried(world, control):
    henry = await person(control, name="henry")
    await control.clear_requests()
    await control.set_fault("ratelimited", methods=["chat.postMessage"], count=1, retry_after=1)
    try:
        _, reply = await henry.ask("show sampling")
        assert "samples traces with" in reply["text"]
        await control.set_fault("server_error", methods=["chat.postMessage"], count=1)
        _, reply = await henry.ask("help")
        assert "Here is what I can do" in reply["text"]
    finally:
        await control.clear_faults()
    statuses = [r["status"] for r in await control.requests("chat.postMessage")]
    assert 429 in statuses and 500 in statuses
    assert statuses.index(429) < len(statuses) - 1 and statuses[statuses.index(429) + 1] == 200


async def test_the_gateway_counts_commands_on_its_metrics_endpoint(world, control):
    ivy = await person(control, name="ivy")
    gw = world.gateways[0]
    sample = 'chatops_gateway_commands_total{command="sampling.get",outcome="ok"}'
    before = gw.metric(sample)
    await ivy.ask("show sampling")
    await eventually(lambda: gw.metric(sample) >= before + 1, what=f"{sample} counted")


async def test_alerts_on_the_bus_reach_the_oncall_channel(world, control):
    note = events_pb2.AlertNotification(
        group_key='{}:{alertname="GatewayWiringTest"}',
        status="firing",
        receiver="chatops",
        common_labels={"alertname": "GatewayWiringTest", "severity": "warning"},
        severity="warning",
        notification_id="gateway-wiring-test-1",
        alerts=[
            events_pb2.AlertInstance(
                status="firing",
                fingerprint="f00d",
                labels={"alertname": "GatewayWiringTest", "severity": "warning"},
                annotations={"summary": "published by the gateway's test"},
            )
        ],
    )
    note.alerts[0].starts_at.GetCurrentTime()
    nc = await world.nats.connect("notifier")  # the only identity that may store alerts
    try:
        await nc.jetstream().publish(
            alert_subject("firing", "warning"), codec.encode(note), headers={H_MSG_ID: note.notification_id}
        )
    finally:
        await nc.close()
    msg = await control.wait_for_message(
        world.oncall_id, predicate=lambda m: "GatewayWiringTest" in str(m), timeout=30
    )
    assert msg["user"] == control.bot_user_id


async def test_commands_still_work_after_slack_asks_for_a_new_socket(world, control):
    jane = await person(control, name="jane")
    assert await control.disconnect_sockets() >= 1
    await control.wait_connected(1, timeout=30)
    _, reply = await jane.ask("show sampling", timeout=60)
    assert "samples traces with" in reply["text"]
