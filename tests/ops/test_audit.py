"""audit.list over a log of ten thousand events: newest first, filters, and since."""

from __future__ import annotations

from google.protobuf.timestamp_pb2 import Timestamp
from nats.aio.client import Client

from chatops.bus import jetstream, settle
from chatops.contract import COMMANDS
from chatops.subjects import audit_subject
from chatops.v1 import audit_pb2
from ops.auditlog import AuditFilter, AuditLog
from tests.ops.conftest import OpsUnderTest, ask, reply_of
from tools.harness.servers import NatsServer
from tools.harness.wait import eventually

N = 10_000
BASE_S = 1_700_000_000


def _event(i: int) -> audit_pb2.AuditEvent:
    command = COMMANDS[i % len(COMMANDS)].name
    actor = "slack:URARE" if i % 1000 == 999 else f"slack:U{i % 7}"
    ev = audit_pb2.AuditEvent(actor=actor, command=command, outcome="ok", request_id=f"r{i}")
    ev.time.FromSeconds(BASE_S + i)
    return ev


async def test_ten_thousand_events(ops: OpsUnderTest, nc: Client, secure_nats: NatsServer) -> None:
    # Seeded as ops, the only identity that may append to the audit log.
    writer = await secure_nats.connect("ops")
    for i in range(N):
        ev = _event(i)
        await writer.publish(audit_subject(ev.command), ev.SerializeToString())
    await settle(writer)
    js = jetstream(writer, secure_nats.settings("ops"))

    async def stored() -> bool:
        return (await js.stream_info("CHATOPS_AUDIT")).state.messages >= N

    await eventually(stored, timeout=60, what=f"{N} audit events stored")
    assert (await js.stream_info("CHATOPS_AUDIT")).state.messages == N

    rare = reply_of(
        await ask(nc, "audit.list", audit_pb2.ListAuditRequest(actor="slack:URARE", limit=5)), "audit.list"
    )
    assert [e.request_id for e in rare.events] == [f"r{i}" for i in (9999, 8999, 7999, 6999, 5999)]
    assert [e.sequence for e in rare.events] == [10000, 9000, 8000, 7000, 6000]

    log = AuditLog(js)
    newest = await log.read(AuditFilter(limit=100))
    assert newest[0].command == "audit.list"  # the call above was audited after the seeded events
    assert [e.request_id for e in newest[1:]] == [f"r{i}" for i in range(N - 1, N - 100, -1)]

    name = COMMANDS[3].name
    by_command = await log.read(AuditFilter(limit=100, command=name))
    assert len(by_command) == 100 and {e.command for e in by_command} == {name}
    assert by_command[0].request_id == f"r{max(i for i in range(N) if i % len(COMMANDS) == 3)}"

    since = Timestamp()
    since.FromSeconds(BASE_S + N - 30)
    recent = reply_of(
        await ask(nc, "audit.list", audit_pb2.ListAuditRequest(since=since, limit=100), as_json=True),
        "audit.list",
        as_json=True,
    )
    # 30 seeded events are at or after `since`; the audit.list calls above are too (they are "now").
    seeded = [e for e in recent.events if e.request_id[1:].isdigit()]
    assert [e.request_id for e in seeded] == [f"r{i}" for i in range(N - 1, N - 31, -1)]
    assert recent.events[0].command == "audit.list"

    # A filter that matches nothing reads at most the budget, and says how much it did not read.
    total = (await js.stream_info("CHATOPS_AUDIT")).state.messages
    nobody = await AuditLog(js, scan_budget=2500).search(AuditFilter(limit=5, actor="slack:UNOBODY"))
    assert nobody.events == [] and nobody.unsearched == total - 2500
    assert nobody.searched_back_to_ns == (BASE_S + N - 2500 + (total - N)) * 10**9
    some = await AuditLog(js, scan_budget=2500).search(AuditFilter(limit=5, actor="slack:URARE"))
    assert [e.request_id for e in some.events] == ["r9999", "r8999", "r7999"]
    assert some.unsearched == total - 2500
    # Through ops (budget 20,000 > the log) everything is searched, and the reply says so.
    whole = reply_of(
        await ask(nc, "audit.list", audit_pb2.ListAuditRequest(actor="slack:UNOBODY")), "audit.list"
    )
    assert list(whole.events) == [] and whole.unsearched == 0 and not whole.HasField("searched_back_to")
    await writer.close()
