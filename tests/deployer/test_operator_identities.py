"""The deploy agent on an operator-managed NATS: the `chatops access` layout held in JWTs (the deployer
in an account of its own, its stream, the audit log and its lock bucket reached through imports), every
part connecting with a credentials file, and the deployer knowing its senders from `chatops roster`."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg

from chatops.access.roster import main as roster_main
from chatops.access.table import SERVICE_JS_API
from chatops.bus import Caller, ServiceFailed, connect, connect_options, jetstream, settle
from chatops.contract import DEPLOYER
from chatops.settings import BusSettings
from chatops.subjects import AUDIT_PREFIX
from chatops.v1 import audit_pb2
from chatops.v1 import deploys_pb2 as pb
from deployer.lock import Locks, lock_bucket
from tools.harness.components import UNREACHABLE
from tools.harness.deploys import ADMIN, Deployer, Slots, Steps, ask, start
from tools.harness.jwtaccess import AccessNats
from tools.harness.servers import running
from tools.harness.wait import eventually

pytestmark = pytest.mark.slow  # nats-server, the deployer and its petstore instance

LIST = pb.ListDeploysRequest(service="petstore")


def admin() -> Caller:
    """The admin's claim, with a request id of its own (the audit event is found by it)."""
    return Caller(actor=ADMIN.actor, actor_name=ADMIN.actor_name, source=ADMIN.source)


class World:
    """Operator-mode NATS and a deployer (its own user, in its own account) owning one instance slot.

    No settling window, so a healthy canary is promoted at once and no Prometheus is needed: what is
    tested here is the bus, not the canary's judge (tests/deployer/test_rollout.py)."""

    def __init__(self, root: Path) -> None:
        self.nats = AccessNats(root / "nats")
        self.roster = root / "identities.json"
        self.slots = Slots.free(1)
        self.deployer = Deployer(
            root / "deployer",
            self.nats,
            UNREACHABLE,
            self.slots,
            CHATOPS_ADMINS=ADMIN.actor,
            CHATOPS_IDENTITIES=str(self.roster),
            DEPLOY_SETTLE_SECONDS="0",
        )

    def start(self) -> World:
        self.nats.start()
        tools_jwt = self.nats.creds("tools").read_text().split("\n")[1]  # the JWT alone, no seed
        (self.roster.parent / "tools.jwt").write_text(tools_jwt + "\n")
        entries = [f"gateway={self.nats.creds('gateway')}", f"tools={self.roster.parent / 'tools.jwt'}"]
        assert roster_main([str(self.roster), *entries]) == 0
        self.deployer.start()
        return self

    def stop(self) -> None:
        self.deployer.stop()
        self.nats.stop()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with running(World(tmp_path_factory.mktemp("deployer-operator"))) as w:
        yield w


class Audit:
    """The audit events of deploy commands, as the tools identity follows them live."""

    def __init__(self) -> None:
        self.events: list[audit_pb2.AuditEvent] = []

    async def watch(self, nc: Client) -> Audit:
        async def got(msg: Msg) -> None:
            self.events.append(audit_pb2.AuditEvent.FromString(msg.data))

        await nc.subscribe(f"{AUDIT_PREFIX}.deploys.>", cb=got)
        return self

    async def of(self, request_id: str) -> audit_pb2.AuditEvent:
        found: audit_pb2.AuditEvent = await eventually(
            lambda: next((e for e in self.events if e.request_id == request_id), None),
            timeout=15,
            what=f"the audit event of request {request_id}",
        )
        return found


@pytest.fixture
async def clients(world: World, tmp_path: Path) -> AsyncIterator[dict[str, Client]]:
    """The gateway and tools identities, and a stranger: a user of the gateway's account with the
    gateway's permissions, whom nobody put in the roster."""
    async with world.nats.senders(tmp_path / "stranger.creds") as connected:
        yield connected


async def deploys(nc: Client) -> list[tuple[str, str, str]]:
    """(deploy id, to version, last step) of each deploy the deployer knows, newest first."""
    reply = await ask(nc, "deploys.list", LIST)
    assert isinstance(reply, pb.ListDeploysReply)
    return [(d.deploy_id, d.to_version, pb.DeployStep.Name(d.step)) for d in reply.deploys]


async def test_the_gateway_user_deploys_and_a_restarted_deployer_knows_it_from_the_events(
    world: World, clients: dict[str, Client], tmp_path: Path
) -> None:
    tools = clients["tools"]
    steps = await Steps().watch(tools)
    audit = await Audit().watch(tools)
    await settle(tools)
    caller = admin()
    deploy = await start(clients["gateway"], "0.2.0", caller)
    assert deploy.actor == ADMIN.actor  # the roster named the gateway's user: its claim stands
    done = await steps.until(deploy.deploy_id, "promoted", timeout=60)
    assert steps.of(deploy.deploy_id) == ["requested", "started", "canary_healthy", "promoted"]
    assert [i.version for i in done.instances] == ["0.2.0"] == world.slots.versions()
    recorded = await audit.of(caller.request_id)
    assert (recorded.command, recorded.actor, recorded.sender, recorded.error_code) == (
        "deploys.start",
        ADMIN.actor,
        "gateway",
        0,
    )

    # A restarted deployer reads its events back through its imports and adopts the instance.
    world.deployer.kill()
    world.deployer.start()
    known = await deploys(tools)  # a command that changes nothing: the read-only account may send it
    assert known[0] == (deploy.deploy_id, "0.2.0", "DEPLOY_STEP_PROMOTED")
    assert world.slots.versions() == ["0.2.0"]
    info = json.loads((await tools.request(f"$SRV.INFO.{DEPLOYER.name}", b"", timeout=5)).data)
    assert info["name"] == DEPLOYER.name  # discovery crosses from its account too

    # A deployer on another host (same permissions, a user of its own) holds the lock: this one reads
    # who holds it from the bucket and says so.
    other = tmp_path / "other-deployer.creds"
    world.nats.creds_like("deployer", other)
    settings = BusSettings(NATS_URL=world.nats.url, NATS_CREDS=other, NATS_JS_API_PREFIX=SERVICE_JS_API)
    nc = await connect(settings, "deployer", reconnect=False)
    try:
        ttl = float(world.deployer.service.env["DEPLOY_LOCK_TTL"])
        locks = Locks(await lock_bucket(jetstream(nc, settings), ttl), ttl)
        holder = pb.DeployEvent(deploy_id="petstore-elsewhere", service="petstore", actor_name="bob")
        holder.kind, holder.from_version, holder.to_version = pb.DEPLOY_KIND_DEPLOY, "0.2.0", "0.3.0"
        holder.requested_at.GetCurrentTime()
        lease = await locks.acquire("petstore", holder)
        try:
            with pytest.raises(ServiceFailed) as busy:
                await ask(clients["gateway"], "deploys.rollback", pb.RollbackRequest(service="petstore"))
        finally:
            await lease.release()
    finally:
        await nc.close()
    assert busy.value.code == 409
    assert "bob started a deploy (0.2.0 → 0.3.0, deploy petstore-elsewhere)" in busy.value.message


def violation(subject: str) -> str:
    """The server's refusal of a publish, as nats-py hands it to the error callback (lower case)."""
    return f'nats: permissions violation for publish to "{subject}"'.lower()


async def open_recording(settings: BusSettings, name: str) -> tuple[Client, list[str]]:
    """A connection as `name` that keeps the server's errors (a refused publish is one)."""
    errors: list[str] = []

    async def on_error(exc: Exception) -> None:
        errors.append(str(exc))

    nc = await nats.connect(**connect_options(settings, name), error_cb=on_error, allow_reconnect=False)
    return nc, errors


async def test_identities_without_the_deployers_permissions_cannot_drive_it(
    world: World, clients: dict[str, Client]
) -> None:
    tools = clients["tools"]
    steps = await Steps().watch(tools)
    audit = await Audit().watch(tools)
    await settle(tools)
    before = await deploys(clients["gateway"])
    version = "0.1.0" if world.slots.versions() == ["0.2.0"] else "0.2.0"
    request = pb.StartDeployRequest(service="petstore", version=version)

    # The read-only account's deploy reaches the deployer's refusal subject only: recorded, refused.
    callers = {"tools": admin(), "stranger": admin()}
    with pytest.raises(ServiceFailed) as refused:
        await ask(tools, "deploys.start", request, callers["tools"])
    assert (refused.value.code, refused.value.message) == (
        403,
        "this identity may only send commands that change nothing",
    )
    # Same account and permissions as the gateway, same admin claim, but not in the roster: nobody.
    with pytest.raises(ServiceFailed) as unknown:
        await ask(clients["stranger"], "deploys.start", request, callers["stranger"])
    assert unknown.value.code == 403 and "the bus did not say who sent it" in unknown.value.message
    events = [await audit.of(c.request_id) for c in callers.values()]
    assert [(e.command, e.actor, e.sender, e.claimed_actor, e.error_code) for e in events] == [
        ("deploys.start", "nats:tools", "tools", ADMIN.actor, 403),
        ("deploys.start", "nats:unknown", "", ADMIN.actor, 403),
    ]

    # The notifier may send no command; the gateway may neither write deploy events nor take the lock.
    notifier, notifier_errors = await open_recording(world.nats.settings("notifier"), "notifier")
    gateway, gateway_errors = await open_recording(world.nats.settings("gateway"), "gateway")
    try:
        await notifier.publish("chatops.cmd.deploys.start", request.SerializeToString())
        forged = pb.DeployEvent(deploy_id="forged", service="petstore", step=pb.DEPLOY_STEP_PROMOTED)
        await gateway.publish("chatops.deploys.petstore.promoted", forged.SerializeToString())
        await gateway.publish("$KV.chatops_deploy_locks.petstore", forged.SerializeToString())
        for nc in (notifier, gateway):
            await settle(nc)
        await eventually(
            lambda: len(notifier_errors) >= 1 and len(gateway_errors) >= 2,
            timeout=10,
            what="the server's refusals",
        )
    finally:
        await notifier.close()
        await gateway.close()
    assert notifier_errors == [violation("chatops.cmd.deploys.start")]
    assert gateway_errors == [
        violation("chatops.deploys.petstore.promoted"),
        violation("$KV.chatops_deploy_locks.petstore"),
    ]
    assert await deploys(clients["gateway"]) == before
    assert steps.events == []
