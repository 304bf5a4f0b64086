"""End to end: Prometheus -> Alertmanager -> notifier -> nats-server -> gateway -> Slack emulator."""

from __future__ import annotations

import io
import json
import urllib.error
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from PIL import Image

from chatops.bus import Caller, call, jetstream
from chatops.contract import command
from chatops.subjects import ALERTS_DELIVERY_DURABLE, ALERTS_STREAM, KV_ALERT_MESSAGES
from chatops.v1.audit_pb2 import ListAuditRequest
from chatops.v1.records_pb2 import AlertMessageRecord
from gateway.alerts.store import MessageStore, group_ref
from tests.gateway.alerts.conftest import Slack
from tests.gateway.alerts.stack import (
    SWITCH_RULE,
    TOKEN,
    Switch,
    alertmanager_config,
    demo_rule,
    gateway,
    ops,
)
from tools.harness import components
from tools.harness.alerts import fixture, flat, replies, resolved_in_place, top_level, webhook
from tools.harness.browser import ARTIFACTS
from tools.harness.components import Service, demo_load, metric
from tools.harness.petstore import Petstore
from tools.harness.servers import Alertmanager, NatsServer, Parts, Prometheus
from tools.harness.wait import eventually

THRESHOLD_RGB = (0xD6, 0x27, 0x28)  # ops.graphs.draw.THRESHOLD_COLOUR

pytestmark = pytest.mark.slow


@pytest.fixture
def nats_server(secure_nats: NatsServer) -> NatsServer:
    """Identities on: the notifier, the gateway and ops each connect as themselves."""
    return secure_nats


async def post_webhook(notifier_url: str, body: dict[str, Any]) -> int:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{notifier_url}/alerts", json=body, headers={"Authorization": f"Bearer {TOKEN}"}
        ) as resp,
    ):
        return resp.status


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return json.loads(resp.read())


def switch_to_slack(
    tmp_path: Path, nats_server: NatsServer, slack: Slack, parts: Parts, switch: Switch
) -> tuple[Any, Alertmanager, Any]:
    """The whole real chain: Prometheus rule on the switch -> Alertmanager -> notifier -> NATS -> gateway."""
    hook = parts(components.notifier(tmp_path / "notifier", nats_server).start())
    am = parts(Alertmanager(tmp_path / "am", config=alertmanager_config(hook.url)).start())
    parts(
        Prometheus(
            tmp_path / "prom",
            scrape_targets={"switch": [switch.target]},
            rules=[SWITCH_RULE],
            alertmanager_url=am.url,
        ).start()
    )
    gw = parts(gateway(tmp_path / "gw", nats_server, slack.emulator, slack.oncall).start())
    return hook, am, gw


async def test_firing_alert_is_posted_and_resolve_updates_the_same_message(
    tmp_path: Path, nats_server: NatsServer, slack: Slack, parts: Parts
) -> None:
    switch = await Switch().start()
    try:
        hook, am, gw = switch_to_slack(tmp_path, nats_server, slack, parts, switch)
        switch.value = 1
        posted = await slack.control.wait_for_message(slack.oncall, timeout=90)
        text = flat(posted)
        assert "FIRING [critical] ChatopsSwitchOn" in text
        assert "The test switch is on" in text
        assert "`team=chatops`" in text
        assert "/graph?g0.expr=" in text
        assert f"<{am.url}/#/alerts|Alertmanager>" in text

        switch.value = 0
        original = await resolved_in_place(slack.control, slack.oncall, posted, "ChatopsSwitchOn", timeout=90)
        assert "RESOLVED [critical] ChatopsSwitchOn" in flat(original)
        assert hook.metric("chatops_notifier_published_total") == 2
        assert gw.proc.running
    finally:
        await switch.stop()


async def test_the_demo_alert_arrives_with_its_graph_in_the_thread(
    tmp_path: Path, nats_server: NatsServer, slack: Slack, parts: Parts
) -> None:
    """make demo's PetstoreErrorRatioHigh: the demo load's malformed calls cross its 5% line."""
    petstore = parts(Petstore(tmp_path / "petstore", sampler="never").start())
    load = demo_load(tmp_path / "demo", petstore.addr)
    load.start()
    parts(load)
    hook = parts(components.notifier(tmp_path / "notifier", nats_server).start())
    am = parts(Alertmanager(tmp_path / "am", config=alertmanager_config(hook.url)).start())
    prom = parts(
        Prometheus(
            tmp_path / "prom",
            scrape_targets={"petstore": [petstore.metrics_target]},
            rules=[demo_rule()],
            alertmanager_url=am.url,
        ).start()
    )
    parts(ops(tmp_path / "ops", nats_server, am.url, "", prometheus_url=prom.url).start())
    gw = parts(gateway(tmp_path / "gw", nats_server, slack.emulator, slack.oncall).start())

    posted = await slack.control.wait_for_message(slack.oncall, timeout=120)
    assert "FIRING [warning] PetstoreErrorRatioHigh" in flat(posted), flat(posted)
    assert not posted.get("files")
    shared = await slack.control.wait_for_message(slack.oncall, thread_ts=posted["ts"], timeout=60)
    assert shared["ts"] > posted["ts"]
    assert "PetstoreErrorRatioHigh over the last 1h" in shared["text"]
    assert "the red line: 0.05, where the rule fires" in shared["text"]
    [file] = shared["files"]
    headers = {"Authorization": f"Bearer {slack.emulator.bot_token}"}
    async with aiohttp.ClientSession() as http, http.get(file["url_private"], headers=headers) as resp:
        png = await resp.read()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "demo-alert-graph.png").write_bytes(png)
    image = Image.open(io.BytesIO(png)).convert("RGB")
    assert image.size == (1200, 640)
    assert THRESHOLD_RGB in {colour for _, colour in image.getcolors(maxcolors=1200 * 640) or []}
    # One alert message, and its graph after it: nothing posted twice.
    assert len(top_level(await slack.control.messages(slack.oncall))) == 1
    assert "Traceback" not in gw.proc.log_tail(400)


async def test_nats_down_gives_503_then_the_alert_arrives_once(
    tmp_path: Path, nats_server: NatsServer, slack: Slack, parts: Parts
) -> None:
    switch = await Switch().start()
    try:
        hook, am, _ = switch_to_slack(tmp_path, nats_server, slack, parts, switch)

        nats_server.stop()
        switch.value = 1

        async def refused() -> bool:
            return bool(hook.metric('chatops_notifier_rejected_total{reason="unavailable"}') >= 1)

        await eventually(refused, timeout=90, what="the notifier answering 503 to Alertmanager")
        assert hook.metric("chatops_notifier_published_total") == 0
        parts(NatsServer(tmp_path / "nats", port=nats_server.port, identities=True).start())

        posted = await slack.control.wait_for_message(slack.oncall, timeout=90)
        assert "ChatopsSwitchOn" in flat(posted)
        # Alertmanager flushes the group every 2 s and looks it up in its notification log before
        # sending; two flushes after the delivery it has had every chance to (wrongly) send it again,
        # and its retries of the refused sends, each bound to one flush, are over.
        flushes = metric(f"{am.url}/metrics", "alertmanager_nflog_queries_total")
        await eventually(
            lambda: metric(f"{am.url}/metrics", "alertmanager_nflog_queries_total") >= flushes + 2,
            what="two more flushes of the group",
        )
        assert len(top_level(await slack.control.messages(slack.oncall))) == 1
        assert hook.metric("chatops_notifier_published_total") == 1
    finally:
        await switch.stop()


async def test_gateway_killed_and_restarted_delivers_everything_once(
    tmp_path: Path, nats_server: NatsServer, slack: Slack, parts: Parts
) -> None:
    hook = parts(components.notifier(tmp_path / "notifier", nats_server).start())
    first = parts(gateway(tmp_path / "gw1", nats_server, slack.emulator, slack.oncall).start())
    await slack.control.set_fault("server_error", methods=["chat.postMessage"], seconds=600)
    groups = [f"Killed{i}" for i in range(5)]
    for group in groups:
        assert await post_webhook(hook.url, webhook(group, [("h1", "firing")])) == 200

    async def tried() -> bool:
        return any(r["status"] == 500 for r in await slack.control.requests("chat.postMessage"))

    await eventually(tried, what="the gateway trying to post while Slack fails")
    first.kill()
    await slack.control.clear_faults()
    parts(gateway(tmp_path / "gw2", nats_server, slack.emulator, slack.oncall).start())

    async def all_posted() -> list[dict[str, Any]] | None:
        tops = top_level(await slack.control.messages(slack.oncall))
        return tops if len(tops) >= len(groups) else None

    await eventually(all_posted, timeout=90, what="all five alerts posted")
    # Nothing left to hand out or to hand out again (the killed gateway's alert in hand comes back
    # after its ack wait): every notification acked, so nothing more can be posted.
    async with nats_server.connected("gateway") as bus:
        js = jetstream(bus, nats_server.settings("gateway"))

        async def drained() -> bool:
            info = await js.consumer_info(ALERTS_STREAM, ALERTS_DELIVERY_DURABLE)
            return bool(info.num_pending == 0 and info.num_ack_pending == 0)

        await eventually(drained, timeout=30, what="every notification delivered and acked")
    tops = top_level(await slack.control.messages(slack.oncall))
    names = [next(g for g in groups if f"FIRING [warning] {g}" in flat(m)) for m in tops]
    # Groups go side by side (each in its own order), so the five may arrive in any order: once each.
    assert sorted(names) == groups


async def test_killed_between_slacks_accept_and_its_record_the_alert_is_posted_once(
    tmp_path: Path, nats_server: NatsServer, slack: Slack, parts: Parts
) -> None:
    hook = parts(components.notifier(tmp_path / "notifier", nats_server).start())
    first = parts(gateway(tmp_path / "gw1", nats_server, slack.emulator, slack.oncall).start())
    # Slack takes the post and answers late: the gateway has no ts yet, so no record either.
    await slack.control.set_fault("slow", methods=["chat.postMessage"], count=1, delay=60)
    body = webhook("KilledMidPost", [("h1", "firing")])
    assert await post_webhook(hook.url, body) == 200
    posted = await slack.control.wait_for_message(slack.oncall, timeout=30)
    first.kill()  # SIGKILL, between Slack's accept and the KV write
    await slack.control.clear_requests()
    parts(gateway(tmp_path / "gw2", nats_server, slack.emulator, slack.oncall).start())

    nc = await nats_server.connect("gateway")  # the record is the gateway's
    try:
        store = MessageStore(await nc.jetstream().key_value(KV_ALERT_MESSAGES))

        async def recorded() -> AlertMessageRecord | None:
            record = await store.get(group_ref(body["groupKey"]))
            return record if record is not None and record.ts and not record.HasField("claim") else None

        record = await eventually(
            recorded, timeout=60, what="the second gateway recording the first one's post"
        )
    finally:
        await nc.close()
    assert (record.channel, record.ts) == (slack.oncall, posted["ts"])
    assert len(top_level(await slack.control.messages(slack.oncall))) == 1
    assert await slack.control.requests("chat.postMessage") == []  # looked it up instead
    [lookup] = await slack.control.requests("conversations.history")
    assert lookup["args"]["include_all_metadata"] in (True, "true", "1")


def healthz(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url + "/healthz", timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


async def test_a_revoked_token_stalls_delivery_with_503_and_the_gap_arrives_once_when_restored(
    tmp_path: Path, nats_server: NatsServer, slack: Slack, parts: Parts
) -> None:
    hook = parts(components.notifier(tmp_path / "notifier", nats_server).start())
    gw = parts(gateway(tmp_path / "gw", nats_server, slack.emulator, slack.oncall).start())
    await slack.control.set_token_revoked("bot", True)
    groups = ["RevokedA", "RevokedB"]
    for group in groups:
        assert await post_webhook(hook.url, webhook(group, [("h1", "firing")])) == 200

    async def unhealthy() -> str | None:
        status, text = healthz(gw.url)
        return text if status == 503 and "token_revoked" in text else None

    said = await eventually(unhealthy, timeout=60, what="/healthz 503 naming the revoked token")
    assert "SLACK_BOT_TOKEN" in said
    assert gw.metric('chatops_gateway_alerts_stalled{error="token_revoked",scope="*"}') == 1
    assert (
        gw.metric('chatops_gateway_slack_errors_total{error="token_revoked",method="chat.postMessage"}') >= 1
    )
    assert await slack.control.messages(slack.oncall) == []

    await slack.control.set_token_revoked("bot", False)

    async def both() -> list[dict[str, Any]] | None:
        tops = top_level(await slack.control.messages(slack.oncall))
        return tops if len(tops) >= 2 else None

    tops = await eventually(both, timeout=60, what="both alerts of the gap")
    assert sorted(g for m in tops for g in groups if g in flat(m)) == groups

    async def healthy() -> bool:
        return healthz(gw.url)[0] == 200

    await eventually(healthy, what="/healthz 200 again")
    assert gw.metric('chatops_gateway_alerts_stalled{error="token_revoked",scope="*"}') == 0


async def test_an_admin_listed_as_slack_actor_silences_with_the_button_and_from_chat(
    tmp_path: Path, nats_server: NatsServer, slack: Slack, parts: Parts
) -> None:
    admin = await slack.control.create_user("alert-admin")
    visitor = await slack.control.create_user("alert-visitor")
    admins = f"slack:{admin}"  # in full: the form the silence button used to refuse
    hook = parts(components.notifier(tmp_path / "notifier", nats_server).start())
    am = parts(Alertmanager(tmp_path / "am", config=alertmanager_config(hook.url)).start())
    parts(ops(tmp_path / "ops", nats_server, am.url, admins).start())
    gw: Service = parts(
        gateway(
            tmp_path / "gw",
            nats_server,
            slack.emulator,
            slack.oncall,
            admins=admins,
        ).start()
    )
    await slack.control.wait_connected()
    assert await post_webhook(hook.url, fixture("webhook-01-firing-AlwaysFiring.json")) == 200
    posted = await slack.control.wait_for_message(slack.oncall, timeout=60)

    await slack.control.click_button(visitor, slack.oncall, posted["ts"], "chatops_silence_1h")
    refusal = await slack.control.wait_for_message(slack.oncall, thread_ts=posted["ts"], timeout=60)
    assert f"only admins may silence alerts: <@{admin}>" in refusal["text"]
    assert "slack:" not in refusal["text"]
    assert get_json(f"{am.url}/api/v2/silences") == []

    await slack.control.click_button(admin, slack.oncall, posted["ts"], "chatops_silence_1h")
    done = await slack.control.wait_for_message(slack.oncall, thread_ts=posted["ts"], timeout=60)
    assert f"<@{admin}> silenced this group until" in done["text"], gw.proc.log_tail()
    [silence] = get_json(f"{am.url}/api/v2/silences")
    assert silence["status"]["state"] == "active"
    assert sorted((m["name"], m["value"], m["isRegex"], m["isEqual"]) for m in silence["matchers"]) == [
        ("alertname", "AlwaysFiring", False, True),
        ("severity", "page", False, True),
        ("team", "chatops", False, True),
    ]
    starts = datetime.fromisoformat(silence["startsAt"].replace("Z", "+00:00"))
    ends = datetime.fromisoformat(silence["endsAt"].replace("Z", "+00:00"))
    assert 3500 <= (ends - starts).total_seconds() <= 3700
    # The card is a projection: it is redrawn after the thread reply, within ALERTS_CARD_INTERVAL.
    silenced_card = f"Silenced by <@{admin}> until"
    original = await slack.control.wait_for_update(
        slack.oncall, posted["ts"], predicate=lambda m: silenced_card in flat(m), timeout=30
    )
    assert [m["ts"] for m in top_level(await slack.control.messages(slack.oncall))] == [original["ts"]]
    assert len(replies(await slack.control.messages(slack.oncall), posted["ts"])) == 2

    # The same admin, from chat: asked, confirmed, run by ops.
    asked = await slack.control.mention(
        admin, slack.oncall, "silence alertname=AlwaysFiring for=2h from chat"
    )
    question = await slack.control.wait_for_message(slack.oncall, thread_ts=asked, timeout=60)
    assert "Run `silence alertname=AlwaysFiring for=2h from chat`?" in question["text"]
    await slack.control.click_button(admin, slack.oncall, question["ts"], "chatops_confirm")

    async def two_silences() -> list[Any] | None:
        found = get_json(f"{am.url}/api/v2/silences")
        return found if len(found) == 2 else None

    made = await eventually(two_silences, timeout=60, what="the silence asked for in chat")
    assert "from chat" in {s["comment"] for s in made}

    # Every attempt is in the audit log, with the same fields whoever refused it (gateway or ops); ops
    # wrote them all, as the bus says who sent each.
    nc = await nats_server.connect("tools")
    try:
        log = await call(
            nc,
            command("audit.list"),
            ListAuditRequest(command="silences.create"),
            Caller(actor="nats:tools"),
        )
    finally:
        await nc.close()
    silences = list(reversed(log.events))
    assert [(e.actor, e.sender, e.outcome, e.error_code) for e in silences] == [
        (f"slack:{visitor}", "gateway", "error", 403),
        (f"slack:{admin}", "gateway", "ok", 0),
        (f"slack:{admin}", "gateway", "ok", 0),
    ]
    for event in silences:
        assert len(event.request_id) == 32 and len(event.trace_id) == 32 and event.source == "slack"
        matchers = json.loads(event.arguments)["matchers"]
        assert all(set(m) <= {"name", "value", "is_regex", "is_equal"} for m in matchers), event.arguments
    assert "Traceback" not in gw.proc.log_tail(400)
