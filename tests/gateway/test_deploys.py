"""Deploys from chat, end to end: Slack emulator -> gateway -> NATS -> deployer -> real petstore instances,
judged by a real Prometheus; `deployed version` (ops) and the on-call channel see the result."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from chatops.bus import Caller, ServiceFailed
from chatops.v1 import audit_pb2, deploys_pb2
from slackemu.client import EmulatorControl
from tests.gateway.conftest import Person, person
from tests.gateway.stack import ADMIN_NAME, Workspace
from tools.harness import components
from tools.harness.deploys import Deployer, Load, Slots, Steps, ask
from tools.harness.servers import NatsServer, Parts, Prometheus, all_or_nothing, running
from tools.harness.slackemu import SlackEmulator
from tools.harness.wait import eventually

pytestmark = pytest.mark.slow
COMMIT_020 = "85c5e41ce8d7653d01b837fac69e69133382fc39"  # "Update and delete pets", in 0.2.0
COMMIT_030 = "cea41c3a8e97d390e854fc9caf62208e8e487c30"  # in 0.3.0, the demo regression


@dataclass
class DeployWorld:
    """NATS, Prometheus scraping two instance slots, the deployer owning them, ops, a gateway, Slack."""

    root: Path
    slots: Slots = field(default_factory=Slots.free)
    parts: Parts = field(default_factory=Parts)

    def start(self) -> DeployWorld:
        all_or_nothing(self._start, self.parts.stop)
        return self

    def _start(self) -> None:
        up = self.parts.up
        self.nats = up(NatsServer(self.root / "nats", identities=True))
        self.prometheus = up(Prometheus(self.root / "prom", scrape_targets={"petstore": self.slots.targets}))
        self.slack = up(SlackEmulator(self.root / "slack"))
        workspace = Workspace.of(self.slack)
        self.admin_id, self.oncall_id = workspace.admin_id, workspace.oncall_id
        admins = f"slack:{self.admin_id}"
        self.deployer = up(
            Deployer(
                self.root / "deployer",
                self.nats,
                self.prometheus.url,
                self.slots,
                CHATOPS_ADMINS=admins,
            )
        )
        self.ops = up(
            components.ops(
                self.root / "ops",
                self.nats,
                PETSTORE_ADDR=self.slots.addresses,
                PROMETHEUS_URL=self.prometheus.url,
                CHATOPS_ADMINS=admins,
            )
        )
        self.gateway = up(
            components.gateway(
                self.root / "gateway",
                self.nats,
                self.slack,
                SLACK_ONCALL_CHANNEL=self.oncall_id,
                CHATOPS_ADMINS=admins,
                CHATOPS_COMMAND_TIMEOUT="15",
            )
        )

    def stop(self) -> None:
        self.parts.stop()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DeployWorld]:
    with running(DeployWorld(tmp_path_factory.mktemp("deploys"))) as w:
        yield w


@pytest.fixture
async def control(world: DeployWorld) -> AsyncIterator[EmulatorControl]:
    async with world.slack.control() as ctl:
        await ctl.state()
        await ctl.wait_connected(1, timeout=30)
        yield ctl


def texts(message: dict[str, Any]) -> list[str]:
    """Every version a message has had, oldest first: what the thread showed, step by step."""
    return [h["text"] for h in message["history"]] + [message["text"]]


async def confirmed(ctl: EmulatorControl, who: Person, text: str) -> dict[str, Any]:
    """Ask for a change and click Confirm; returns the question message (now updated in place)."""
    _, question = await who.ask(text)
    assert f"Run `{text}`?" in question["text"], question["text"]
    await ctl.click_button(who.user, who.channel, question["ts"], "chatops_confirm")
    return question


async def settled(ctl: EmulatorControl, who: Person, ts: str, word: str) -> dict[str, Any]:
    """The thread message once its deploy has ended with `word` in its title."""
    title = re.compile(rf"^(Deploy|Rollback) of petstore .*: {re.escape(word)}$", re.M)
    return await ctl.wait_for_update(
        who.channel, ts, predicate=lambda m: bool(title.search(m["text"])), timeout=120
    )


async def deployed(who: Person, expected: dict[str, int]) -> str:
    """`deployed version` until it shows exactly `expected` (version -> instances); Prometheus scrapes
    every second, so a just-restarted instance shows up a moment after the deployer says so."""

    async def says() -> str | None:
        _, reply = await who.ask("deployed version")
        rows = dict(re.findall(r"^(\d+\.\d+\.\d+)\s+(\d+)\s", reply["text"], re.M))
        return reply["text"] if {v: int(n) for v, n in rows.items()} == expected else None

    return await eventually(says, what=f"deployed version showing {expected}", timeout=60)


async def oncall_cards(ctl: EmulatorControl, world: DeployWorld, deploy_id: str) -> list[dict[str, Any]]:
    return [
        m
        for m in await ctl.messages(world.oncall_id)
        if deploy_id in json.dumps(m["blocks"]) and not m.get("thread_ts")
    ]


def deploy_id(message: dict[str, Any]) -> str:
    found = re.search(r"petstore-[0-9a-f]{8}", json.dumps(message["blocks"]))
    assert found, message["text"]
    return found.group(0)


async def test_an_admin_deploys_canary_first_and_a_second_deploy_meanwhile_is_refused(
    world: DeployWorld, control: EmulatorControl
) -> None:
    admin = await person(control, user=world.admin_id, name="shipper")
    other = await person(control, user=world.admin_id, name="second")
    assert "Deployed version: 0.1.0" in await deployed(admin, {"0.1.0": 2})
    async with Load(world.slots.addresses):
        question = await confirmed(control, admin, "deploy petstore 0.2.0")
        await control.wait_for_update(
            admin.channel, question["ts"], predicate=lambda m: "canary" in m["text"]
        )
        refused = await confirmed(control, other, "deploy petstore 0.3.0")
        refusal = await control.wait_for_update(
            other.channel, refused["ts"], predicate=lambda m: "409" in m["text"]
        )
        done = await settled(control, admin, question["ts"], "promoted")
    assert f"petstore is busy: {ADMIN_NAME} started a deploy (0.1.0 → 0.2.0" in refusal["text"], refusal[
        "text"
    ]
    shown = "\n".join(texts(done))
    for step in ("requested", "canary starting", "watching the canary", "promoted"):
        assert f"0.1.0 → 0.2.0: {step}" in shown, step
    assert "✔ every instance on 0.2.0" in done["text"] and "▰▰▰▰▰▰▰▰▰▰ 100%" in done["text"]
    assert "Deployed version: 0.2.0" in await deployed(admin, {"0.2.0": 2})
    (card,) = await oncall_cards(control, world, deploy_id(done))
    assert "0.1.0 → 0.2.0: promoted" in card["text"]


async def test_release_status_says_whether_a_change_is_live(
    world: DeployWorld, control: EmulatorControl
) -> None:
    dev = await person(control, name="dev")
    _, reply = await dev.ask(f"release status {COMMIT_020[:7]}")
    assert (
        f"Commit `{COMMIT_020[:12]}` (Update and delete pets, all or nothing) came with petstore 0.2.0"
        in reply["text"]
    )
    assert "live on 2/2 instances since" in reply["text"], reply["text"]
    _, reply = await dev.ask(f"release status {COMMIT_030}")
    assert "came with petstore 0.3.0: not live" in reply["text"], reply["text"]
    _, reply = await dev.ask("release status 0badc0de")
    assert "No release has `0badc0de`" in reply["text"]


async def test_a_bad_release_is_rolled_back_by_itself_and_oncall_sees_one_message(
    world: DeployWorld, control: EmulatorControl
) -> None:
    admin = await person(control, user=world.admin_id, name="brave")
    nc = await world.nats.connect("tools")  # a read-only tool may watch deploy events
    steps = await Steps().watch(nc)
    try:
        async with Load(world.slots.addresses):
            question = await confirmed(control, admin, "deploy petstore 0.3.0")
            done = await settled(control, admin, question["ts"], "rolled back")
    finally:
        await nc.close()
    back = next(
        e
        for e in steps.events
        if e.deploy_id == deploy_id(done) and e.step == deploys_pb2.DEPLOY_STEP_ROLLED_BACK
    )
    # Caught while the canary was watched, not at the end of its window: the ratio crossed the bar.
    caught = re.search(r", ([0-9.]+)s into its 4s window", back.reason)
    assert caught and float(caught.group(1)) < 4, back.reason
    assert back.error_ratio > 0.05 and back.canary_calls >= 5
    assert "✖ rolled back: the canary's error ratio" in done["text"], done["text"]
    assert "every instance is back on 0.2.0" in done["text"]
    assert "Deployed version: 0.2.0" in await deployed(admin, {"0.2.0": 2})
    assert world.slots.versions() == ["0.2.0", "0.2.0"]
    cards = await oncall_cards(control, world, deploy_id(done))
    assert len(cards) == 1 and "0.2.0 → 0.3.0: rolled back" in cards[0]["text"]


async def test_a_non_admin_deploy_is_refused_and_audited_and_so_is_an_admin_forged_on_the_bus(
    world: DeployWorld, control: EmulatorControl
) -> None:
    mallory = await person(control, name="mallory")
    _, reply = await mallory.ask("deploy petstore 0.1.0")
    assert "only admins may run it" in reply["text"] and "actions" not in str(reply["blocks"])
    forged = Caller(actor=f"slack:{world.admin_id}", actor_name=ADMIN_NAME, source="test")  # an admin's
    changes = {
        "deploys.start": deploys_pb2.StartDeployRequest(service="petstore", version="0.1.0"),
        "deploys.rollback": deploys_pb2.RollbackRequest(service="petstore"),
    }
    # A read-only tool, and the console (which speaks only for console:…), both claiming to be the admin.
    for identity in ("tools", "console"):
        nc = await world.nats.connect(identity)
        try:
            for name, request in changes.items():
                with pytest.raises(ServiceFailed) as refused:
                    await ask(nc, name, request, forged)
                assert refused.value.code == 403, (identity, name)
        finally:
            await nc.close()
    nc = await world.nats.connect("tools")
    try:
        log = await ask(nc, "audit.list", audit_pb2.ListAuditRequest(command="deploys", limit=20))
    finally:
        await nc.close()
    assert isinstance(log, audit_pb2.ListAuditReply)
    refusals = {(e.command, e.actor, e.claimed_actor, e.error_code) for e in log.events}
    assert ("deploys.start", f"slack:{mallory.user}", "", 403) in refusals
    for identity in ("tools", "console"):
        for name in changes:
            assert (name, f"nats:{identity}", f"slack:{world.admin_id}", 403) in refusals, (identity, name)
    assert world.slots.versions() == ["0.2.0", "0.2.0"]


async def test_rollback_goes_back_to_the_previous_version_and_deploys_lists_them_all(
    world: DeployWorld, control: EmulatorControl
) -> None:
    admin = await person(control, user=world.admin_id, name="undo")
    question = await confirmed(control, admin, "rollback petstore")
    done = await settled(control, admin, question["ts"], "rolled back (done)")
    assert "Rollback of petstore 0.2.0 → 0.1.0" in done["text"]
    assert world.slots.versions() == ["0.1.0", "0.1.0"]
    _, reply = await admin.ask("deploys limit=5")
    rows = reply["text"]
    assert "rollback petstore 0.2.0 → 0.1.0" in rows and "deploy petstore 0.2.0 → 0.3.0" in rows
    assert "deploy petstore 0.1.0 → 0.2.0" in rows and "install petstore 0.1.0" in rows
    assert rows.index("0.2.0 → 0.1.0") < rows.index("0.2.0 → 0.3.0") < rows.index("0.1.0 → 0.2.0")
