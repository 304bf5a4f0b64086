"""Alert cards end to end: Alertmanager -> notifier -> nats-server -> two gateways -> Slack emulator,
ops serving the commands and watching Alertmanager's silences, amtool making silences as people do.

One system for the module (its tests run in order and use alerts of their own); alerts are sent to
Alertmanager's API the way Prometheus sends them.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import urllib.request
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from nats.aio.client import Client

from chatops.cardref import short_ref
from chatops.v1 import deploys_pb2
from deployer.events import EventLog
from slackemu.client import EmulatorControl
from tests.gateway.alerts.stack import alertmanager_config
from tools.harness import components
from tools.harness.alerts import flat, replies, top_level
from tools.harness.components import Service, post_json
from tools.harness.procs import ROOT
from tools.harness.servers import Alertmanager, NatsServer, env_with
from tools.harness.slackemu import SlackEmulator
from tools.harness.wait import eventually

pytestmark = pytest.mark.slow

GROUP = "S0ONCALL"  # ONCALL_USERGROUP: re-announcements mention it
REANNOUNCE_AFTER = 6  # seconds an unacknowledged card waits before it is said again
WARN_BEFORE = 120  # a silence ending within this many seconds is announced


@dataclass
class World:
    """The module's system; `gateway()` starts one more replica."""

    root: Path
    bus: NatsServer
    slack: SlackEmulator
    am: Alertmanager
    ops: Service
    oncall: str = ""
    admin: str = ""
    gateways: list[Service] = field(default_factory=list)
    started: list[Any] = field(default_factory=list)

    def gateway(self) -> Service:
        n = len(self.gateways) + 1
        gw = components.gateway(
            self.root / f"gw{n}",
            self.bus,
            self.slack,
            name=f"gateway{n}",
            SLACK_ONCALL_CHANNEL=self.oncall,
            CHATOPS_ADMINS=f"slack:{self.admin}",
            ALERTS_ACK_WAIT="5",
            ALERTS_REANNOUNCE_AFTER=str(REANNOUNCE_AFTER),
            ALERTS_REANNOUNCE_TIMES="1",
            ONCALL_USERGROUP=GROUP,
            ALERTS_SILENCE_WARN_BEFORE=str(WARN_BEFORE),
            ALERTS_CARD_INTERVAL="0.5",
            ALERT_GRAPHS="false",
        ).start()
        self.gateways.append(gw)
        self.started.append(gw)
        return gw


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("cards")
    started: list[Any] = []
    try:
        bus = NatsServer(root / "nats", identities=True).start()
        started.append(bus)
        slack = SlackEmulator(root / "slackemu", rate_per_sec=20, rate_burst=20).start()
        started.append(slack)
        hook = components.notifier(root / "notifier", bus).start()
        started.append(hook)
        am = Alertmanager(root / "am", config=alertmanager_config(hook.url)).start()
        started.append(am)
        admin = post_json(f"{slack.base_url}/control/users", {"name": "cardadmin"})["user"]["id"]
        oncall = post_json(f"{slack.base_url}/control/channels", {"name": "cards-oncall"})["channel"]["id"]
        ops = components.ops(
            root / "ops",
            bus,
            ALERTMANAGER_URL=am.url,
            CHATOPS_ADMINS=f"slack:{admin}",
            SILENCE_WATCH_INTERVAL="1",
            SILENCE_WATCH_GRACE="0",
        ).start()
        started.append(ops)
        world = World(root, bus, slack, am, ops, oncall, admin, started=started)
        world.gateway()
        world.gateway()
        yield world
    finally:
        for part in reversed(started):
            part.stop()


@pytest.fixture
async def ctl(world: World) -> AsyncIterator[EmulatorControl]:
    async with world.slack.control() as control:
        await control.state()
        yield control


def fire(world: World, name: str, *, resolved: bool = False, **labels: str) -> None:
    """Send Alertmanager one alert as Prometheus does (firing for 10 more minutes, or resolved now)."""
    now = datetime.now(UTC)
    starts = FIRED.setdefault(name, now)
    ends = now if resolved else now + timedelta(minutes=10)
    alert = {
        "labels": {"alertname": name, "severity": "warning", **labels},
        "annotations": {"summary": f"{name} for the card tests"},
        "startsAt": starts.isoformat().replace("+00:00", "Z"),
        "endsAt": ends.isoformat().replace("+00:00", "Z"),
        "generatorURL": "http://127.0.0.1:9/graph?g0.expr=up",
    }
    request = urllib.request.Request(
        f"{world.am.url}/api/v2/alerts",
        data=json.dumps([alert]).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as resp:
        assert resp.status == 200


FIRED: dict[str, datetime] = {}


async def card_of(ctl: EmulatorControl, world: World, name: str, timeout: float = 60) -> dict[str, Any]:
    """The card of alert `name`, once posted."""

    async def posted() -> dict[str, Any] | None:
        for msg in top_level(await ctl.messages(world.oncall)):
            if f"[warning] {name}*" in flat(msg):
                return msg
        return None

    return await eventually(posted, timeout=timeout, what=f"the card of {name}")


async def card_showing(ctl: EmulatorControl, world: World, ts: str, *wanted: str, gone: str = "") -> str:
    """The card at `ts` once it shows every one of `wanted` (and not `gone`)."""

    async def shown() -> str | None:
        for msg in await ctl.messages(world.oncall):
            if msg["ts"] == ts:
                text = flat(msg)
                if all(w in text for w in wanted) and not (gone and gone in text):
                    return text
        return None

    try:
        return await eventually(shown, timeout=60, what=f"card {ts} showing {wanted}")
    except AssertionError:
        print("OPS", world.ops.log_tail(60))
        for gw in world.gateways:
            print("GW", gw.log_tail(80))
        raise


def ref_of(card: dict[str, Any]) -> str:
    for block in card.get("blocks", []):
        for element in block.get("elements", []):
            if element.get("action_id") in ("chatops_ack", "chatops_unack"):
                return str(element["value"])
    raise AssertionError(f"no Ack button on {flat(card)}")


async def thread(ctl: EmulatorControl, world: World, ts: str) -> list[str]:
    return [m.get("text", "") for m in replies(await ctl.messages(world.oncall), ts)]


async def said_in_thread(ctl: EmulatorControl, world: World, ts: str, wanted: str) -> list[str]:
    async def found() -> list[str] | None:
        said = await thread(ctl, world, ts)
        return said if any(wanted in t for t in said) else None

    return await eventually(found, timeout=60, what=f"{wanted!r} in the thread of {ts}")


def amtool(world: World, *args: str) -> str:
    """The real amtool, against this Alertmanager."""
    done = subprocess.run(
        ["amtool", *args, f"--alertmanager.url={world.am.url}"], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


async def test_ack_from_the_button_and_from_chat_shows_who_and_only_unacked_cards_are_reannounced(
    world: World, ctl: EmulatorControl
) -> None:
    alice = await ctl.create_user("card-alice")
    bob = await ctl.create_user("card-bob")
    fire(world, "CardAckButton")
    fire(world, "CardAckChat")
    by_button = await card_of(ctl, world, "CardAckButton")
    by_chat = await card_of(ctl, world, "CardAckChat")

    # Both at once, well before either is due to be said again.
    _, asked = await asyncio.gather(
        ctl.click_button(alice, world.oncall, by_button["ts"], "chatops_ack"),
        ctl.mention(bob, world.oncall, f"ack {short_ref(ref_of(by_chat))}"),
    )
    await said_in_thread(ctl, world, by_button["ts"], f"<@{alice}> acknowledged CardAckButton")
    await card_showing(ctl, world, by_button["ts"], f"Acked by <@{alice}>, <!date^", "chatops_unack")
    reply = await ctl.wait_for_message(world.oncall, thread_ts=asked, timeout=30)
    assert f"<@{bob}> acknowledged CardAckChat" in reply["text"]
    await card_showing(ctl, world, by_chat["ts"], f"Acked by <@{bob}>")
    again = await ctl.mention(alice, world.oncall, "ack CardAckChat")
    reply = await ctl.wait_for_message(world.oncall, thread_ts=again, timeout=30)
    assert f"already acknowledged by <@{bob}>" in reply["text"]

    # Fired after both acks: when it is re-announced, the acked ones were due long before.
    fire(world, "CardUnacked")
    unacked = await card_of(ctl, world, "CardUnacked")
    said = await said_in_thread(ctl, world, unacked["ts"], "is still firing and nobody has acknowledged it")
    [announced] = [t for t in said if "still firing" in t]
    assert f"<!subteam^{GROUP}>" in announced and f"`ack {short_ref(ref_of(unacked))}`" in announced
    for card in (by_button, by_chat):
        assert not any("still firing" in t for t in await thread(ctl, world, card["ts"]))


async def test_an_amtool_silence_shows_on_the_card_warns_before_it_ends_and_says_when_it_ended(
    world: World, ctl: EmulatorControl
) -> None:
    fire(world, "CardSilenced")
    card = await card_of(ctl, world, "CardSilenced")
    # Ending within ALERTS_SILENCE_WARN_BEFORE: the warning is due at once.
    silence = amtool(
        world,
        "silence",
        "add",
        "alertname=CardSilenced",
        "--duration=100s",
        "--author=bob",
        "--comment=fixing it",
    )
    await card_showing(ctl, world, card["ts"], "Silenced by `bob` until")
    await said_in_thread(ctl, world, card["ts"], "The silence by `bob` ends at")
    amtool(world, "silence", "expire", silence)
    await said_in_thread(ctl, world, card["ts"], "The silence by `bob` has ended.")
    await card_showing(ctl, world, card["ts"], "FIRING [warning] CardSilenced", gone="Silenced by")
    said = await thread(ctl, world, card["ts"])
    assert sum("ends at" in t for t in said) == 1 and sum("has ended" in t for t in said) == 1, said


async def test_an_alert_resolved_while_silenced_updates_its_card(world: World, ctl: EmulatorControl) -> None:
    fire(world, "CardResolvedSilenced")
    card = await card_of(ctl, world, "CardResolvedSilenced")
    amtool(world, "silence", "add", "alertname=CardResolvedSilenced", "--duration=30m", "--comment=quiet")
    await card_showing(ctl, world, card["ts"], "Silenced by")
    fire(world, "CardResolvedSilenced", resolved=True)  # Alertmanager sends no notification for this
    text = await card_showing(ctl, world, card["ts"], "RESOLVED [warning] CardResolvedSilenced")
    assert "resolved while silenced" in text and "chatops_ack" not in text
    await said_in_thread(ctl, world, card["ts"], "Resolved while silenced")


async def test_after_a_deploy_a_new_alerts_card_lists_it(world: World, ctl: EmulatorControl) -> None:
    nc: Client = await world.bus.connect("deployer")
    try:
        log = EventLog(nc.jetstream())
        asked = datetime.now(UTC) - timedelta(minutes=5)
        for step in (deploys_pb2.DEPLOY_STEP_REQUESTED, deploys_pb2.DEPLOY_STEP_PROMOTED):
            event = deploys_pb2.DeployEvent(
                deploy_id="d-cards-1",
                service="cardsvc",
                step=step,
                kind=deploys_pb2.DEPLOY_KIND_DEPLOY,
                actor=f"slack:{world.admin}",
                actor_name="cardadmin",
                from_version="0.1.0",
                to_version="0.2.0",
            )
            event.requested_at.FromDatetime(asked)
            event.time.FromDatetime(asked + timedelta(seconds=step))
            await log.append(event)
    finally:
        await nc.close()
    fire(world, "CardAfterDeploy", service="cardsvc")
    card = await card_of(ctl, world, "CardAfterDeploy")
    text = await card_showing(ctl, world, card["ts"], "Recent changes to cardsvc")
    assert f"0.1.0 → 0.2.0 by <@{world.admin}>: promoted" in text


async def test_timeline_since_1h_lists_the_demo_alert_its_ack_and_the_commands_in_order(
    world: World, ctl: EmulatorControl
) -> None:
    carol = await ctl.create_user("card-carol")
    fire(world, "PetstoreErrorRatioHigh", job="petstore")  # the demo's alert, as its rule labels it
    await card_of(ctl, world, "PetstoreErrorRatioHigh")
    for said in ("ack PetstoreErrorRatioHigh", "history limit=1"):
        asked = await ctl.mention(carol, world.oncall, said)
        await ctl.wait_for_message(world.oncall, thread_ts=asked, timeout=30)
    asked = await ctl.mention(carol, world.oncall, "timeline since=1h")
    reply = await ctl.wait_for_message(world.oncall, thread_ts=asked, timeout=30)
    lines = flat(reply)
    order = [
        lines.index("FIRING [warning] PetstoreErrorRatioHigh"),
        lines.index("acknowledged PetstoreErrorRatioHigh"),
        lines.index('alerts.ack {\\"alert\\": \\"PetstoreErrorRatioHigh\\"} → ok'),
        lines.index('audit.list {\\"limit\\": 1} → ok'),
    ]
    assert order == sorted(order), lines
    shared = await ctl.wait_for_message(world.oncall, thread_ts=asked, timeout=30)
    [file] = shared["files"]
    assert file["name"].startswith("timeline-") and file["name"].endswith(".md")

    env = env_with(**world.bus.env("console"), CHATOPS_COMMAND_TIMEOUT="20", PYTHONPATH=str(ROOT))
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "chatops", "ask", "timeline since=1h alert=PetstoreErrorRatioHigh"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    markdown = done.stdout
    assert markdown.startswith("# Timeline since ") and "| time (UTC) | what | who | |" in markdown
    rows = [
        line for line in markdown.splitlines() if line.startswith("| ") and "PetstoreErrorRatioHigh" in line
    ]
    assert "FIRING" in rows[0] and "acknowledged PetstoreErrorRatioHigh" in rows[1], rows
    assert "| card-carol |" in rows[1]


async def test_a_new_replica_rebuilds_the_same_cards_from_the_bus_alone(
    world: World, ctl: EmulatorControl
) -> None:
    cards = {m["ts"]: flat(m) for m in top_level(await ctl.messages(world.oncall)) if " · ref `" in flat(m)}
    updates = len(await ctl.requests("chat.update"))
    for gw in world.gateways:
        gw.kill()  # SIGKILL: nothing is handed over
    world.gateways.clear()
    fresh = world.gateway()  # no state of its own: the bus is all it has

    async def rebuilt() -> float | None:
        same = fresh.metric('chatops_gateway_card_refreshes_total{outcome="same"}')
        return same if same >= 4 else None

    await eventually(rebuilt, timeout=60, what="the new replica drawing the open cards")
    assert fresh.metric('chatops_gateway_card_refreshes_total{outcome="updated"}') == 0
    assert len(await ctl.requests("chat.update")) == updates  # it would show them as they are
    now = {m["ts"]: flat(m) for m in top_level(await ctl.messages(world.oncall)) if " · ref `" in flat(m)}
    assert now == cards

    # And it carries on from there: an unack changes that one card, the rest of it as before.
    acked = next(ts for ts, text in cards.items() if "CardAckChat" in text)
    asked = await ctl.mention(world.admin, world.oncall, "unack CardAckChat")
    reply = await ctl.wait_for_message(world.oncall, thread_ts=asked, timeout=30)
    assert "is taken back" in reply["text"]
    text = await card_showing(ctl, world, acked, "chatops_ack", gone="Acked by")
    assert "FIRING [warning] CardAckChat" in text
    # The re-announcement of the test above was posted once, by one of two replicas.
    unacked = next(ts for ts, text in cards.items() if "CardUnacked" in text)
    assert sum("still firing" in t for t in await thread(ctl, world, unacked)) == 1
