"""A storm of card events on one card, through the gateway's own parts on a real nats-server and the
Slack emulator: a bounded number of chat.update calls, and the last one shows the last state."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from nats.aio.client import Client
from slack_sdk.web.async_client import AsyncWebClient

from chatops import codec
from chatops.cardref import group_ref
from chatops.lease import process_id
from chatops.streams import provision
from chatops.subjects import CARDS_STREAM, KV_ALERT_MESSAGES, ack_subject, silence_subject
from chatops.v1 import cards_pb2 as pb
from gateway.alerts import AlertDelivery
from gateway.alerts.book import CardBook
from gateway.alerts.delivery import Tuning
from gateway.alerts.failures import Backoff
from gateway.alerts.poster import Poster
from gateway.alerts.refresher import Refresher
from gateway.alerts.store import MessageStore
from gateway.slack.chat import SlackChat
from gateway.slack.pacing import Pacer, Priority
from slackemu.client import EmulatorControl
from tools.harness.alerts import flat, replies, store, top_level, webhook
from tools.harness.servers import running
from tools.harness.slackemu import SlackEmulator
from tools.harness.wait import eventually

FAST = Tuning(ack_wait=5.0, backoff=Backoff(0.2, 2.0), stall_backoff=Backoff(0.3, 1.5), fetch_timeout=1.0)
INTERVAL = 1.0  # the card's message is updated at most once a second
STORM = 100
MOST_UPDATES = 5  # 100 events arriving within a second or two: one update per second, and the first


@dataclass
class Gateway:
    """One replica's alert parts: delivery (posts cards), the book, the refresher."""

    delivery: AlertDelivery
    book: CardBook
    refresher: Refresher


@pytest.fixture
def slack_emulator(tmp_path: Path) -> Iterator[SlackEmulator]:
    """The emulator lets the storm's calls through at once: the refresher's coalescing is measured."""
    with running(SlackEmulator(tmp_path / "slackemu", rate_per_sec=50, rate_burst=50)) as emulator:
        yield emulator


@pytest.fixture
async def gateway(
    nc: Client, slack_control: EmulatorControl, slack_emulator: SlackEmulator
) -> AsyncIterator[tuple[Gateway, str]]:
    js = nc.jetstream()
    await provision(js)
    oncall = await slack_control.create_channel("alerts-storm")
    # As the gateway runs it: every call paced, chat.update as Slack's Tier 3.
    slack = SlackChat(AsyncWebClient(token=slack_emulator.bot_token, base_url=slack_emulator.api_url))
    chat = Pacer(slack).chat(Priority.ALERT)
    book = CardBook(js)
    book.start()
    poster = Poster(
        chat=chat,
        store=MessageStore(await js.key_value(KV_ALERT_MESSAGES)),
        owner=f"{process_id()}/card",
        lease=5.0,
    )
    refresher = Refresher(poster=poster, book=book, interval=INTERVAL)
    book.on_change = refresher.mark
    delivery = AlertDelivery(nc=nc, chat=chat, oncall=oncall, tuning=FAST, viewer=book.view)
    await delivery.start()
    await delivery.ready()
    try:
        yield Gateway(delivery, book, refresher), oncall
    finally:
        await delivery.stop()
        await refresher.stop()
        await book.stop()


def ack(ref: str, episode: str, user: str, acked: bool, n: int) -> pb.AckEvent:
    event = pb.AckEvent(
        ref=ref, episode=episode, acked=acked, actor=f"slack:{user}", actor_name=user, request_id=f"r{n}"
    )
    event.time.GetCurrentTime()
    return event


def silence(fingerprint: str, starts_ns: int, n: int, *, resolved: bool = False) -> pb.SilenceEvent:
    event = pb.SilenceEvent(
        silence_id="5e1f0c3a-0000-4000-8000-00000000000a", state="active", created_by="bob", observed=True
    )
    event.ends_at.GetCurrentTime()
    event.ends_at.seconds += 3600 + n  # each event moves the end a second later
    event.time.GetCurrentTime()
    alert = pb.SilencedAlert(fingerprint=fingerprint, alertname="Storm", muted=not resolved)
    alert.starts_at.FromNanoseconds(starts_ns)
    if resolved:
        alert.resolved_at.GetCurrentTime()
    event.alerts.append(alert)
    return event


async def test_a_storm_of_100_card_events_costs_a_few_updates_and_ends_right(
    nc: Client, gateway: tuple[Gateway, str], slack_control: EmulatorControl
) -> None:
    parts, oncall = gateway
    body = webhook("Storm", [("h1", "firing")])
    await store(nc, body)
    posted = await slack_control.wait_for_message(oncall, timeout=30)
    assert "FIRING [warning] Storm" in flat(posted)
    ref = group_ref(body["groupKey"])
    record = await MessageStore(await nc.jetstream().key_value(KV_ALERT_MESSAGES)).get(ref)
    assert record is not None and record.episode_id
    note = await parts.book.notification(record)
    assert note is not None
    fingerprint, starts = note.alerts[0].fingerprint, note.alerts[0].starts_at.ToNanoseconds()
    await parts.book.caught_up()
    await slack_control.clear_requests()

    # 100 events within a second: acks and unacks by three people, the silence moving, and at the
    # end the alert seen resolved while silenced, then acked by U7 (each acks the card's episode).
    js = nc.jetstream()
    events: list[tuple[str, bytes]] = []
    for n in range(STORM - 2):
        if n % 3 == 2:
            events.append(
                (
                    silence_subject("5e1f0c3a-0000-4000-8000-00000000000a"),
                    codec.encode(silence(fingerprint, starts, n)),
                )
            )
        else:
            events.append(
                (ack_subject(ref), codec.encode(ack(ref, record.episode_id, f"U{n % 5}", n % 2 == 0, n)))
            )
    events.append(
        (
            silence_subject("5e1f0c3a-0000-4000-8000-00000000000a"),
            codec.encode(silence(fingerprint, starts, STORM, resolved=True)),
        )
    )
    events.append((ack_subject(ref), codec.encode(ack(ref, record.episode_id, "U7", True, STORM))))
    await asyncio.gather(*(js.publish(subject, data, stream=CARDS_STREAM) for subject, data in events[:-1]))
    await js.publish(*events[-1], stream=CARDS_STREAM)  # the last one last

    async def final() -> dict[str, Any] | None:
        [card] = top_level(await slack_control.messages(oncall))
        text = flat(card)
        return card if "RESOLVED [warning] Storm" in text and "Acked by <@U7>" in text else None

    card = await eventually(final, timeout=30, what="the card showing the storm's last state")
    await parts.refresher.idle()
    updates = [r for r in await slack_control.requests("chat.update") if r["args"].get("ts") == posted["ts"]]
    assert 1 <= len(updates) <= MOST_UPDATES, len(updates)
    assert parts.refresher.updates == len(updates)
    text = flat(card)
    assert "resolved while silenced" in text and "Silenced by" not in text  # resolved: nothing to silence
    assert "chatops_ack" not in text and "chatops_silence_1h" not in text  # and no buttons
    # The thread says once that it resolved while silenced (Alertmanager sends nothing for that).
    said = [m["text"] for m in replies(await slack_control.messages(oncall), posted["ts"])]
    assert sum("Resolved while silenced" in t for t in said) == 1, said
