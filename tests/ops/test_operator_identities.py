"""Who ran a command on an operator-managed NATS: the `chatops access` layout held in JWTs (ops in an
account of its own, the senders importing its commands with `share: true`), every part connecting with
a credentials file, and ops knowing the senders from the roster `chatops roster` writes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg

from chatops.access.roster import main as roster_main
from chatops.bus import connect, jetstream
from chatops.identity import Roster
from chatops.streams import provision
from chatops.subjects import AUDIT_STREAM, KV_JOURNAL
from chatops.v1 import audit_pb2, sampling_pb2
from gateway.journal import Journal
from gateway.slack.events import ChatMessage
from ops.app import running as ops_running
from ops.settings import OpsSettings
from tests.gateway.test_journal import scanned
from tests.ops.conftest import ask, error_of, reply_of
from tools.harness.components import ops_env
from tools.harness.jwtaccess import AccessNats
from tools.harness.petstore import Petstore
from tools.harness.servers import running

ADMIN = "slack:U0ADMIN"
CLAIM = {"Chatops-Actor": ADMIN}
ALWAYS = sampling_pb2.SetSamplingRequest(sampler=sampling_pb2.Sampler(type=sampling_pb2.SAMPLER_TYPE_ALWAYS))
NEVER = sampling_pb2.SetSamplingRequest(sampler=sampling_pb2.Sampler(type=sampling_pb2.SAMPLER_TYPE_NEVER))

pytestmark = pytest.mark.slow  # nats-server, the petstore and ops


@pytest.fixture(scope="module")
def bus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AccessNats]:
    with running(AccessNats(tmp_path_factory.mktemp("operator-access"))) as server:
        yield server


def jwt_alone(creds: Path, path: Path) -> Path:
    """The user JWT of a credentials file without its seed, as `nsc describe user --raw` prints it."""
    path.write_text(creds.read_text().split("\n")[1] + "\n")
    return path


@pytest.fixture
async def clients(bus: AccessNats, tmp_path: Path) -> AsyncIterator[dict[str, Client]]:
    """The gateway and tools identities, and a stranger: a user of the gateway's account with the
    gateway's permissions, whom nobody put in the roster."""
    async with bus.senders(tmp_path / "stranger.creds") as connected:
        yield connected


async def test_ops_names_a_creds_user_from_the_roster_and_refuses_one_it_does_not_know(
    bus: AccessNats,
    petstore: Petstore,
    clients: dict[str, Client],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    roster = tmp_path / "identities.json"
    tools_jwt = jwt_alone(bus.creds("tools"), tmp_path / "tools.jwt")
    assert roster_main([str(roster), f"gateway={bus.creds('gateway')}", f"tools={tools_jwt}"]) == 0
    printed = capsys.readouterr().out
    assert bus.trust.users["gateway"].seed not in printed + roster.read_text()
    members = {m.name: m for m in Roster.load(roster).members}
    gateway = bus.trust.users["gateway"].public
    assert (members["gateway"].account, members["gateway"].nkey, members["gateway"].speaks_for) == (
        bus.trust.accounts["CHATOPS"].public,
        gateway,
        "slack",
    )

    env = ops_env(
        tmp_path / "ops",
        bus,
        PETSTORE_ADDR=petstore.addr,
        CHATOPS_IDENTITIES=str(roster),
        CHATOPS_ADMINS=ADMIN,
    )
    async with ops_running(OpsSettings(**env)):  # type: ignore[arg-type]
        got = reply_of(
            await ask(clients["gateway"], "sampling.get", sampling_pb2.GetSamplingRequest(), headers=CLAIM),
            "sampling.get",
        )
        assert got.sampler.type == sampling_pb2.SAMPLER_TYPE_FLOAT
        changed = reply_of(
            await ask(clients["gateway"], "sampling.set", ALWAYS, headers=CLAIM), "sampling.set"
        )
        assert changed.current.type == sampling_pb2.SAMPLER_TYPE_ALWAYS

        # Same account, same permissions, same claim, but not in the roster: nobody in particular.
        code, text = error_of(await ask(clients["stranger"], "sampling.set", NEVER, headers=CLAIM))
        assert code == 403 and "the bus did not say who sent it" in text
        still = reply_of(
            await ask(clients["stranger"], "sampling.get", sampling_pb2.GetSamplingRequest(), headers=CLAIM),
            "sampling.get",
        )
        assert still.sampler.type == sampling_pb2.SAMPLER_TYPE_ALWAYS

        # The read-only account's changing command reaches ops on the refusal subject only.
        code, text = error_of(await ask(clients["tools"], "sampling.set", NEVER, headers=CLAIM))
        assert (code, text) == (403, "this identity may only send commands that change nothing")

        log = reply_of(
            await ask(
                clients["gateway"], "audit.list", audit_pb2.ListAuditRequest(command="sampling", limit=10)
            ),
            "audit.list",
        )
    events = [(e.command, e.actor, e.sender, e.claimed_actor, e.error_code) for e in reversed(log.events)]
    assert events == [
        ("sampling.get", ADMIN, "gateway", "", 0),
        ("sampling.set", ADMIN, "gateway", "", 0),
        ("sampling.set", "nats:unknown", "", ADMIN, 403),
        ("sampling.get", "nats:unknown", "", ADMIN, 0),
        ("sampling.set", "nats:tools", "tools", ADMIN, 403),
    ]


async def provisioned(bus: AccessNats) -> None:
    """The streams and buckets, made as `chatops provision` makes them (again: it changes nothing)."""
    provisioner = await connect(bus.settings("provisioner"), "provisioner", reconnect=False)
    try:
        await provision(jetstream(provisioner, bus.settings("provisioner")))
    finally:
        await provisioner.close()


async def test_the_gateway_keeps_its_journal_on_an_operator_managed_bus(
    bus: AccessNats, clients: dict[str, Client]
) -> None:
    await provisioned(bus)
    js = jetstream(clients["gateway"], bus.settings("gateway"))
    journal = Journal(js, await js.key_value(KV_JOURNAL), "gw-1", clock=lambda: 0.0)
    ticket = await journal.open(
        ChatMessage("Ev0JWT", "U1", "C1", "show sampling", "1.1", "1.1", direct=False)
    )
    assert ticket is not None and await journal.renew(ticket)
    # Read in a batch, through a consumer of the sweep's own, as a sweep after an outage does.
    [found] = [f for f in await scanned(Journal(js, journal.kv, "gw-3", few=0)) if f.key == "Ev0JWT"]
    taken = await Journal(js, journal.kv, "gw-2").take(found)
    assert taken is not None
    await journal.close(taken)


async def test_tools_follow_the_gateways_own_refusals_on_an_operator_managed_bus(
    bus: AccessNats, clients: dict[str, Client]
) -> None:
    await provisioned(bus)
    got: asyncio.Queue[Msg] = asyncio.Queue()
    await clients["tools"].subscribe("chatops.audit.>", cb=got.put)
    await clients["tools"].flush()
    js = jetstream(clients["gateway"], bus.settings("gateway"))
    await js.publish("chatops.audit.chat.refused", b"a refusal", stream=AUDIT_STREAM)
    msg = await asyncio.wait_for(got.get(), 10)
    assert (msg.subject, msg.data) == ("chatops.audit.chat.refused", b"a refusal")
