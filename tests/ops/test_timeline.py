"""`timeline` on a real bus: the logs merged in time order, the oldest kept within the limit and the
rest counted, one alert's entries only when asked, and the timeline's own runs left out."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from nats.aio.client import Client

from chatops import codec
from chatops.cardref import group_ref
from chatops.streams import provision
from chatops.subjects import (
    ALERTS_STREAM,
    AUDIT_STREAM,
    CARDS_STREAM,
    ack_subject,
    alert_subject,
    audit_subject,
)
from chatops.v1 import audit_pb2
from chatops.v1 import cards_pb2 as pb
from chatops.v1.events_pb2 import AlertNotification
from ops.timeline import Scope, timeline
from tools.harness.servers import NatsServer, running


@pytest.fixture
async def bus(tmp_path: Path) -> AsyncIterator[Client]:
    with running(NatsServer(tmp_path / "nats")) as server:
        client = await server.connect("test")
        try:
            await provision(client.jetstream())
            yield client
        finally:
            await client.close()


async def command(bus: Client, name: str, at_ns: int) -> None:
    event = audit_pb2.AuditEvent(command=name, actor="slack:U1", actor_name="alice", outcome="ok")
    event.time.FromNanoseconds(at_ns)
    await bus.jetstream().publish(audit_subject(name), codec.encode(event), stream=AUDIT_STREAM)


async def alert(bus: Client, name: str, at_ns: int) -> str:
    note = AlertNotification(
        status="firing", severity="critical", group_key=f'{{}}:{{alertname="{name}"}}', notification_id=name
    )
    note.received_at.FromNanoseconds(at_ns)
    note.alerts.add(status="firing", fingerprint=f"f-{name}").labels["alertname"] = name
    await bus.jetstream().publish(
        alert_subject("firing", "critical"), codec.encode(note), stream=ALERTS_STREAM
    )
    return group_ref(note.group_key)


async def test_the_logs_merge_in_order_and_the_oldest_fit_the_limit(bus: Client) -> None:
    start = time.time_ns()
    down = await alert(bus, "Down", start + 1)
    await alert(bus, "Other", start + 2)
    ack = pb.AckEvent(ref=down, acked=True, actor="slack:U1", actor_name="alice", alertnames=["Down"])
    ack.time.FromNanoseconds(start + 3)
    await bus.jetstream().publish(ack_subject(down), codec.encode(ack), stream=CARDS_STREAM)
    await command(bus, "timeline.show", start + 4)  # looking is not an event of the incident
    for n in range(30):
        await command(bus, "version.get", start + 10 + n)

    everything = await timeline(bus.jetstream(), start - 10**9, Scope(), 10)
    kinds = [e.kind for e in everything.entries]
    assert kinds[:3] == [pb.TIMELINE_KIND_ALERT, pb.TIMELINE_KIND_ALERT, pb.TIMELINE_KIND_ACK]
    assert kinds[3:] == [pb.TIMELINE_KIND_COMMAND] * 7 and everything.omitted == 23
    assert (
        "acknowledged Down" in everything.entries[2].summary and everything.entries[2].actor_name == "alice"
    )
    assert all("timeline.show" not in e.summary for e in everything.entries)
    assert not everything.cut_short

    only = await timeline(bus.jetstream(), start - 10**9, Scope("Down"), 500)
    summaries = [e.summary for e in only.entries]
    assert "Other" not in " ".join(summaries) and "FIRING [critical] Down" in summaries[0]
    assert list(only.refs) == [down] and len(summaries) == 2 + 30  # its alert, its ack, every command
