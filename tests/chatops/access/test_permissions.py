"""Least privilege against the real nats-server: every identity's allowed subjects work and every
forbidden publish, subscribe and JetStream API call is refused by the server (chatops/access/table.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from chatops.access.table import IDENTITIES
from chatops.bus import connect_options, settle
from chatops.identity import Roster, request_info
from chatops.streams import names
from chatops.subjects import ALERTS_DELIVERY_DURABLE, ALERTS_STREAM, AUDIT_STREAM, KV_JOURNAL, KV_SEEN_EVENTS
from gateway.journal import Journal
from gateway.slack.events import ChatMessage
from tests.gateway.test_journal import scanned
from tools.harness.servers import NatsServer
from tools.harness.wait import eventually

ALL = frozenset(i.name for i in IDENTITIES)
STREAMS = names()  # every stream, the buckets' included

# subject -> the identities that may publish to it; everyone else is refused by the server.
PUBLISH: dict[str, frozenset[str]] = {
    "chatops.alerts.firing.critical": frozenset({"notifier", "ops"}),  # ops: a replayed dead letter
    "chatops.audit.sampling.set": frozenset({"ops", "deployer"}),
    # The gateway's refusals of chat messages that are not commands: that one subject only.
    "chatops.audit.chat.refused": frozenset({"ops", "gateway", "deployer"}),
    "chatops.deploys.petstore.requested": frozenset({"deployer"}),
    "chatops.deadletter.alerts": frozenset({"gateway", "ops"}),
    "chatops.deadletter.replayed": frozenset({"gateway", "ops"}),
    "$KV.chatops_deploy_locks.petstore": frozenset({"deployer"}),
    "$JS.CHATOPS.API.STREAM.UPDATE.KV_chatops_deploy_locks": frozenset({"deployer"}),
    # The deployer reads its own events back; ops reads them for `timeline`.
    "$JS.CHATOPS.API.CONSUMER.CREATE.CHATOPS_DEPLOYS": frozenset({"deployer", "ops"}),
    # Card events: only ops writes them (acks it decided, silences it made or saw in Alertmanager);
    # the gateway reads them into its cards, ops for `timeline`.
    "chatops.cards.acks.3fa2c1d0": frozenset({"ops"}),
    "chatops.cards.silences.0f6c3a3e-1d2b-4c44-9a7b-7f0e5f2c9d11": frozenset({"ops"}),
    "$JS.API.CONSUMER.CREATE.CHATOPS_CARDS": frozenset({"gateway"}),
    "$JS.CHATOPS.API.CONSUMER.CREATE.CHATOPS_CARDS": frozenset({"ops"}),
    "$JS.API.CONSUMER.CREATE.KV_chatops_alert_messages": frozenset({"gateway"}),
    "$JS.CHATOPS.API.CONSUMER.CREATE.KV_chatops_alert_messages": frozenset({"ops"}),
    "$KV.chatops_alert_messages.3fa2c1d0": frozenset({"gateway"}),
    # One replica of each leads a job (ops' silence watcher, the gateway's card notes).
    "$KV.chatops_leases.gateway.card-notes": frozenset({"gateway", "ops"}),
    "chatops.cmd.version.get": frozenset({"gateway", "console", "tools"}),
    # tools may send it, but the bus hands it to ops' refusal subject (see the test below).
    "chatops.cmd.sampling.set": frozenset({"gateway", "console", "tools"}),
    f"$KV.{KV_SEEN_EVENTS}.someone": frozenset({"gateway"}),
    f"$KV.{KV_JOURNAL}.someone": frozenset({"gateway"}),
    # A sweep reads a long journal through a consumer of its own; nobody else reads the journal.
    f"$JS.API.CONSUMER.CREATE.KV_{KV_JOURNAL}.sweep-1.$KV.{KV_JOURNAL}.>": frozenset({"gateway"}),
    f"$JS.CHATOPS.API.CONSUMER.CREATE.KV_{KV_JOURNAL}": frozenset(),
    "_INBOX.gateway.forged-reply": frozenset(),
    "$SRV.INFO.chatops-ops": frozenset({"tools"}),
    f"$JS.API.CONSUMER.MSG.NEXT.{ALERTS_STREAM}.{ALERTS_DELIVERY_DURABLE}": frozenset({"gateway"}),
    f"$JS.API.CONSUMER.DELETE.{ALERTS_STREAM}.{ALERTS_DELIVERY_DURABLE}": frozenset(),
    f"$JS.API.CONSUMER.CREATE.{AUDIT_STREAM}": frozenset(),
    f"$JS.CHATOPS.API.CONSUMER.CREATE.{AUDIT_STREAM}": frozenset({"ops"}),
    f"$JS.CHATOPS.API.CONSUMER.CREATE.{ALERTS_STREAM}": frozenset({"ops"}),  # timeline, ack by name
    "$JS.API.ACCOUNT.PURGE.CHATOPS": frozenset(),
}
for _stream in STREAMS:
    for _verb in ("DELETE", "PURGE", "MSG.DELETE"):
        for _prefix in ("$JS.API", "$JS.CHATOPS.API"):
            PUBLISH[f"{_prefix}.STREAM.{_verb}.{_stream}"] = frozenset()
    for _verb in ("CREATE", "UPDATE"):
        PUBLISH[f"$JS.API.STREAM.{_verb}.{_stream}"] = frozenset({"provisioner"})

# (subject, queue group) -> the identities that may subscribe.
SUBSCRIBE: dict[tuple[str, str], frozenset[str]] = {
    ("chatops.cmd.>", ""): frozenset(),
    ("chatops.cmd.>", "ops"): frozenset(),  # ops serves each noun, not the whole tree
    ("chatops.cmd.sampling.>", "ops"): frozenset({"ops"}),
    ("chatops.cmd.sampling.>", ""): frozenset(),
    ("chatops.cmd.sampling.>", "impostor"): frozenset(),
    ("chatops.refused.cmd.sampling.>", "ops"): frozenset({"ops"}),
    ("chatops.refused.cmd.sampling.set", "ops"): frozenset({"ops"}),
    ("chatops.refused.cmd.deploys.start", "deployer"): frozenset({"deployer"}),
    ("chatops.cmd.deploys.>", "deployer"): frozenset({"deployer"}),
    ("chatops.cmd.deploys.>", "ops"): frozenset(),
    ("chatops.alerts.>", ""): frozenset({"tools"}),
    ("chatops.audit.>", ""): frozenset({"tools"}),
    ("chatops.cards.>", ""): frozenset({"tools"}),
    ("_INBOX.>", ""): frozenset(),
    ("$KV.>", ""): frozenset(),
    ("$JS.ACK.>", ""): frozenset(),
    **{(f"_INBOX.{name}.>", ""): frozenset({name}) for name in ALL},
}


class Client_:
    """A connection as one identity that records the server's permission errors."""

    def __init__(self, nc: Client, errors: list[str]) -> None:
        self.nc = nc
        self.errors = errors
        self.probes = 0

    async def refused(self, marker: str) -> bool:
        """Whether the server refused what was just sent: it answers in order, so once a publish that
        nobody may make is refused, any refusal of what came before it has arrived too."""
        self.probes += 1
        sentinel = f"chatops.probe.{self.probes}"
        await self.nc.publish(sentinel, b"")
        await settle(self.nc)
        await eventually(
            lambda: any(sentinel in e for e in self.errors), timeout=10, what=f"{sentinel} refused"
        )
        return any(marker.lower() in e.lower() for e in self.errors)


async def open_as(server: NatsServer, name: str) -> Client_:
    errors: list[str] = []

    async def on_error(exc: Exception) -> None:
        errors.append(str(exc))

    nc = await nats.connect(**connect_options(server.settings(name), name), error_cb=on_error)
    return Client_(nc, errors)


@pytest.fixture(scope="module")
def bus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    server = NatsServer(Path(tmp_path_factory.mktemp("access")), identities=True).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def clients(bus: NatsServer) -> AsyncIterator[dict[str, Client_]]:
    opened = {name: await open_as(bus, name) for name in sorted(ALL)}
    try:
        yield opened
    finally:
        for c in opened.values():
            await c.nc.close()


@pytest.mark.parametrize("name", sorted(ALL))
async def test_every_publish_is_allowed_or_refused_as_the_table_says(clients, name) -> None:
    client = clients[name]
    wrong = []
    for subject, allowed in PUBLISH.items():
        await client.nc.publish(subject, b"probe")
        refused = await client.refused(f'publish to "{subject}"')
        if refused == (name in allowed):
            wrong.append(f"{subject}: {'refused' if refused else 'allowed'}")
    assert not wrong, f"{name}: {wrong}"


@pytest.mark.parametrize("name", sorted(ALL))
async def test_every_subscribe_is_allowed_or_refused_as_the_table_says(clients, name) -> None:
    client = clients[name]
    wrong = []
    for (subject, queue), allowed in SUBSCRIBE.items():
        sub = await client.nc.subscribe(subject, queue=queue)
        marker = f'subscription to "{subject}"' + (f' using queue "{queue}"' if queue else "")
        refused = await client.refused(marker)
        if refused == (name in allowed):
            wrong.append(f"{subject} queue={queue or '-'}: {'refused' if refused else 'allowed'}")
        await sub.unsubscribe()
    assert not wrong, f"{name}: {wrong}"


async def test_without_an_identity_the_server_lets_nobody_in(bus: NatsServer) -> None:
    nc = Client()
    try:
        with pytest.raises(NatsError, match=r"[Aa]uthorization"):
            await nc.connect(bus.url, allow_reconnect=False, connect_timeout=2)
    finally:
        await nc.close()


async def _answering(ops: Client, subject: str, seen: list[Msg]) -> None:
    async def answer(msg: Msg) -> None:
        seen.append(msg)
        await msg.respond(b"ok")

    await ops.subscribe(subject, queue="ops", cb=answer)


async def test_changing_commands_of_a_read_only_identity_reach_only_the_refusal_subject(bus, clients) -> None:
    ops = clients["ops"].nc
    real: list[Msg] = []
    refusals: list[Msg] = []
    await _answering(ops, "chatops.cmd.sampling.>", real)
    await _answering(ops, "chatops.refused.cmd.sampling.set", refusals)
    await settle(ops)
    forged = {"Chatops-Actor": "slack:U0ADMIN", "Nats-Request-Info": '{"acc":"CHATOPS","user":"forged"}'}
    await clients["tools"].nc.request("chatops.cmd.sampling.set", b"{}", headers=forged, timeout=5)
    await clients["gateway"].nc.request("chatops.cmd.sampling.set", b"{}", timeout=5)
    await clients["tools"].nc.request("chatops.cmd.sampling.get", b"{}", timeout=5)
    assert [m.subject for m in refusals] == ["chatops.refused.cmd.sampling.set"]
    assert [m.subject for m in real] == ["chatops.cmd.sampling.set", "chatops.cmd.sampling.get"]
    # The server wrote who sent each one; the forged header did not survive.
    assert request_info(refusals[0].headers) != ("CHATOPS", "forged")
    roster = Roster.load(bus.files.roster)
    senders = [roster.sender(m.headers) for m in (refusals[0], *real)]
    assert [(s.account, s.name) for s in senders if s] == [
        ("READONLY", "tools"),
        ("CHATOPS", "gateway"),
        ("READONLY", "tools"),
    ]


async def test_only_the_notifier_stores_alerts_and_tools_see_them_live(clients) -> None:
    # (and ops, which puts a dead letter back when an admin asks: tests/ops/test_deadletters.py)
    seen: list[Msg] = []
    got = asyncio.Event()

    async def on_alert(msg: Msg) -> None:
        seen.append(msg)
        got.set()

    await clients["tools"].nc.subscribe("chatops.alerts.>", cb=on_alert)
    await settle(clients["tools"].nc)
    js = clients["notifier"].nc.jetstream()
    before = (await js.stream_info(ALERTS_STREAM)).state.messages
    ack = await js.publish("chatops.alerts.firing.warning", b"a page", stream=ALERTS_STREAM)
    assert ack.stream == ALERTS_STREAM
    for name in sorted(ALL - {"notifier", "ops"}):
        await clients[name].nc.publish("chatops.alerts.firing.critical", b"a fake page")
        assert await clients[name].refused('publish to "chatops.alerts.firing.critical"'), name
    await asyncio.wait_for(got.wait(), 10)
    assert [m.data for m in seen] == [b"a page"]
    assert (await js.stream_info(ALERTS_STREAM)).state.messages == before + 1


async def test_ops_appends_and_reads_the_audit_log_and_tools_follow_it(clients) -> None:
    got = asyncio.Event()
    live: list[bytes] = []

    async def on_event(msg: Msg) -> None:
        live.append(msg.data)
        got.set()

    await clients["tools"].nc.subscribe("chatops.audit.>", cb=on_event)
    await settle(clients["tools"].nc)
    js = clients["ops"].nc.jetstream(prefix="$JS.CHATOPS.API")
    ack = await js.publish("chatops.audit.version.get", b"an event", stream=AUDIT_STREAM)
    config = ConsumerConfig(
        ack_policy=AckPolicy.NONE,
        deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
        opt_start_seq=ack.seq,
        inactive_threshold=5.0,
    )
    sub = await js.pull_subscribe("chatops.audit.>", stream=AUDIT_STREAM, config=config)
    [msg] = await sub.fetch(batch=1, timeout=5)
    assert msg.data == b"an event"
    await asyncio.wait_for(got.wait(), 10)
    assert live == [b"an event"]


async def test_tools_follow_the_refusals_the_gateway_records_itself(clients) -> None:
    # The gateway appends to the audit log on one subject only, in its own account: tools follow
    # that subject too, or a tool watching chatops.audit.> would miss who tried what from where.
    got = asyncio.Event()
    live: list[tuple[str, bytes]] = []

    async def on_event(msg: Msg) -> None:
        live.append((msg.subject, msg.data))
        got.set()

    await clients["tools"].nc.subscribe("chatops.audit.>", cb=on_event)
    await settle(clients["tools"].nc)
    js = clients["gateway"].nc.jetstream()
    await js.publish("chatops.audit.chat.refused", b"a refusal", stream=AUDIT_STREAM)
    await asyncio.wait_for(got.wait(), 10)
    assert live == [("chatops.audit.chat.refused", b"a refusal")]


async def test_nobody_can_purge_or_delete_the_audit_log(clients) -> None:
    admin = clients["provisioner"].nc.jetstream()
    before = (await admin.stream_info(AUDIT_STREAM)).state.messages
    for name, client in clients.items():
        prefix = "$JS.CHATOPS.API" if name == "ops" else "$JS.API"
        for verb in ("PURGE", "DELETE"):
            subject = f"{prefix}.STREAM.{verb}.{AUDIT_STREAM}"
            await client.nc.publish(subject, b"{}")
            assert await client.refused(f'publish to "{subject}"'), f"{name} {verb}"
    info = await admin.stream_info(AUDIT_STREAM)
    assert info.state.messages == before
    # The stream itself refuses both, whoever is given the right later, and that cannot be undone.
    assert info.config.deny_purge and info.config.deny_delete
    with pytest.raises(NatsError, match="deny"):
        await admin.update_stream(replace(info.config, deny_purge=False))


async def test_the_gateway_keeps_its_journal_and_sweeps_it(clients) -> None:
    js = clients["gateway"].nc.jetstream()
    journal = Journal(js, await js.key_value(KV_JOURNAL), "gw-1", clock=lambda: 0.0)
    msg = ChatMessage("Ev0PERMS", "U1", "C1", "show sampling", "1.1", "1.1", direct=False)
    ticket = await journal.open(msg)
    assert ticket is not None and await journal.renew(ticket)
    # Read in a batch, through a consumer of the sweep's own, as a sweep after an outage does.
    [found] = [f for f in await scanned(Journal(js, journal.kv, "gw-3", few=0)) if f.key == "Ev0PERMS"]
    other = Journal(js, journal.kv, "gw-2")
    assert found.entry is not None and other.stale(found.entry, 0.0)
    taken = await other.take(found)
    assert taken is not None and taken.entry.holder == "gw-2"
    await journal.close(taken)
    # Nobody else reads or writes it.
    with pytest.raises((NatsError, TimeoutError)):
        await clients["tools"].nc.jetstream(timeout=1).get_msg(f"KV_{KV_JOURNAL}", 1)


async def test_the_gateway_uses_its_buckets_and_its_durable_consumer(clients) -> None:
    js = clients["gateway"].nc.jetstream()
    kv = await js.key_value(KV_SEEN_EVENTS)
    await kv.create("event-1", b"1")
    assert (await kv.get("event-1")).value == b"1"
    config = ConsumerConfig(
        durable_name=ALERTS_DELIVERY_DURABLE,
        ack_policy=AckPolicy.EXPLICIT,
        deliver_policy=DeliverPolicy.NEW,
        filter_subject="chatops.alerts.>",
    )
    await js.add_consumer(ALERTS_STREAM, config)
    await clients["notifier"].nc.jetstream().publish("chatops.alerts.firing.info", b"for the gateway")
    sub = await js.pull_subscribe("chatops.alerts.>", durable=ALERTS_DELIVERY_DURABLE, stream=ALERTS_STREAM)
    [msg] = await sub.fetch(batch=1, timeout=5)
    assert msg.data == b"for the gateway"
    await msg.ack_sync()
    assert (await js.get_msg(ALERTS_STREAM, msg.metadata.sequence.stream)).data == msg.data
    # Another durable name is not the gateway's.
    other = ConsumerConfig(durable_name="someone-else", ack_policy=AckPolicy.EXPLICIT)
    with pytest.raises((NatsError, TimeoutError)):
        await clients["gateway"].nc.jetstream(timeout=1).add_consumer(ALERTS_STREAM, other)
