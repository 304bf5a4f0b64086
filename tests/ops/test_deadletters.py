"""deadletters.list and deadletters.replay against a real nats-server and ops in-process."""

from __future__ import annotations

from nats.aio.client import Client

from chatops import codec
from chatops.subjects import (
    ALERTS_STREAM,
    DEADLETTER_ALERTS,
    DEADLETTER_STREAM,
    H_REPLAY_OF,
    alert_subject,
)
from chatops.v1 import deadletters_pb2 as pb
from chatops.v1.events_pb2 import AlertNotification
from tests.ops.conftest import OpsUnderTest, ask, error_of, reply_of


async def letter(nc: Client, name: str, *, readable: bool = True) -> int:
    """A dead letter as alert delivery writes it; returns its id (its sequence)."""
    dead = pb.DeadLetter(
        stream=ALERTS_STREAM,
        stream_seq=7,
        subject=alert_subject("firing", "critical"),
        reason=f"Slack answers is_archived for C1: {name}",
        error="is_archived",
        channel="C1",
        attempts=3,
    )
    if readable:
        note = AlertNotification(
            group_key=f'{{}}:{{alertname="{name}"}}', status="firing", severity="critical"
        )
        note.alerts.add(status="firing").labels["alertname"] = name
        note.notification_id = f"id-{name}"
        dead.notification.CopyFrom(note)
    else:
        dead.data = b"\xff\x00"
    dead.dead_at.GetCurrentTime()
    ack = await nc.jetstream().publish(DEADLETTER_ALERTS, codec.encode(dead), stream=DEADLETTER_STREAM)
    return int(ack.seq)


async def test_dead_letters_are_listed_newest_first_and_replayed_once_by_admins(
    ops: OpsUnderTest, nc: Client, tools: Client
) -> None:
    empty = reply_of(await ask(nc, "deadletters.list", pb.ListDeadLettersRequest()), "deadletters.list")
    assert list(empty.dead_letters) == [] and empty.waiting == 0
    first = await letter(nc, "First")
    unreadable = await letter(nc, "Broken", readable=False)
    second = await letter(nc, "Second")

    listed = reply_of(await ask(nc, "deadletters.list", pb.ListDeadLettersRequest()), "deadletters.list")
    assert [d.sequence for d in listed.dead_letters] == [second, unreadable, first] and listed.waiting == 3
    assert listed.dead_letters[0].notification.alerts[0].labels["alertname"] == "Second"
    one = reply_of(await ask(nc, "deadletters.list", pb.ListDeadLettersRequest(limit=1)), "deadletters.list")
    assert [d.sequence for d in one.dead_letters] == [second]

    refused = await ask(
        nc,
        "deadletters.replay",
        pb.ReplayDeadLettersRequest(all=True),
        headers={"Chatops-Actor": "slack:UNOBODY"},
    )
    assert error_of(refused)[0] == 403

    sub = await tools.subscribe(alert_subject("firing", "critical"))  # the read-only tool follows alerts
    request = pb.ReplayDeadLettersRequest(ids=[first, unreadable, 999])
    replayed = reply_of(await ask(nc, "deadletters.replay", request), "deadletters.replay")
    assert list(replayed.replayed) == [first]
    assert (
        replayed.skipped[0].startswith(f"{unreadable}: it could not be read")
        and "999: there is no" in replayed.skipped[1]
    )
    sent = await sub.next_msg(timeout=5)
    assert codec.decode(sent.data, AlertNotification).notification_id == "id-First"
    assert (sent.headers or {})[H_REPLAY_OF] == str(first)

    again = reply_of(
        await ask(nc, "deadletters.replay", pb.ReplayDeadLettersRequest(ids=[first])), "deadletters.replay"
    )
    assert list(again.replayed) == [] and again.skipped == [f"{first}: already sent again by slack:UTEST"]
    waiting = reply_of(await ask(nc, "deadletters.list", pb.ListDeadLettersRequest()), "deadletters.list")
    assert [d.sequence for d in waiting.dead_letters] == [second, unreadable] and waiting.waiting == 2
    everything = reply_of(
        await ask(nc, "deadletters.list", pb.ListDeadLettersRequest(replayed=True)), "deadletters.list"
    )
    assert [(d.sequence, d.replayed_by) for d in everything.dead_letters][-1] == (first, "slack:UTEST")

    rest = reply_of(
        await ask(nc, "deadletters.replay", pb.ReplayDeadLettersRequest(all=True)), "deadletters.replay"
    )
    assert list(rest.replayed) == [second] and len(rest.skipped) == 1
    for bad in (pb.ReplayDeadLettersRequest(), pb.ReplayDeadLettersRequest(ids=[1], all=True)):
        assert error_of(await ask(nc, "deadletters.replay", bad))[0] == 400
    await sub.unsubscribe()
