"""Alert delivery against a real nats-server and the Slack emulator."""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import replace
from typing import Any

from nats.aio.client import Client
from nats.js.errors import NotFoundError

from chatops.v1.events_pb2 import AlertNotification
from gateway.alerts.routing import parse_routes
from gateway.alerts.stale import old_snapshot
from gateway.render.slack import TONE_COLOURS
from tests.gateway.alerts.conftest import FAST, Slack
from tools.harness.alerts import fixture, flat, replies, resolved_in_place, store, top_level, webhook
from tools.harness.wait import eventually


async def test_firing_is_posted_then_updated_to_resolved_with_a_thread_reply(
    js_ready: Client, slack: Slack
) -> None:
    async with slack.delivering(js_ready):
        await store(js_ready, fixture("webhook-02-firing-ShortLived.json"))
        posted = await slack.control.wait_for_message(slack.oncall, timeout=30)
        assert "FIRING [info] ShortLived" in flat(posted)
        assert "chatops_silence_1h" in flat(posted)

        await store(js_ready, fixture("webhook-04-resolved-ShortLived.json"))
        original = await resolved_in_place(slack.control, slack.oncall, posted, "ShortLived", timeout=30)
        assert "chatops_silence_1h" not in flat(original)
        assert len(original["history"]) == 1
        updates = await slack.control.requests("chat.update")
        assert [u["args"]["attachments"][0]["color"] for u in updates if u["ok"]] == [
            TONE_COLOURS["resolved"]
        ]


async def test_redelivered_notification_is_not_posted_twice(js_ready: Client, slack: Slack) -> None:
    async with slack.delivering(js_ready):
        body = fixture("webhook-01-firing-AlwaysFiring.json")
        await store(js_ready, body)
        await slack.control.wait_for_message(slack.oncall, timeout=30)
    # Forget the consumer's progress: every stored notification comes again, as after a lost ack.
    await js_ready.jetstream().delete_consumer("CHATOPS_ALERTS", "chatops-gateway-alerts")
    async with slack.delivering(js_ready):

        async def consumed() -> bool:
            try:
                info = await js_ready.jetstream().consumer_info("CHATOPS_ALERTS", "chatops-gateway-alerts")
            except NotFoundError:
                return False
            return bool(info.ack_floor.stream_seq >= 1)

        await eventually(consumed, what="redelivered notification acknowledged")
        assert len(await slack.control.messages(slack.oncall)) == 1


async def test_routes_send_a_team_to_its_channel(js_ready: Client, slack: Slack) -> None:
    payments = await slack.control.create_channel("payments")
    async with slack.delivering(js_ready, routes=parse_routes([f"team=chatops:{payments}"])):
        await store(js_ready, fixture("webhook-01-firing-AlwaysFiring.json"))
        await store(js_ready, fixture("webhook-02-firing-ShortLived.json"))
        routed = await slack.control.wait_for_message(payments, timeout=30)
        assert "AlwaysFiring" in flat(routed)
        default = await slack.control.wait_for_message(slack.oncall, timeout=30)
        assert "ShortLived" in flat(default)


async def test_a_group_of_500_alerts_is_one_accepted_message(js_ready: Client, slack: Slack) -> None:
    async with slack.delivering(js_ready):
        await store(js_ready, webhook("Burst", [(f"host-{i:03d}", "firing") for i in range(500)]))
        posted = await slack.control.wait_for_message(slack.oncall, timeout=30)
        assert len(posted["blocks"]) <= 50
        assert "… and 460 more" in flat(posted)
        assert len(top_level(await slack.control.messages(slack.oncall))) == 1


def updates_of(message: dict[str, Any]) -> list[str]:
    """Every version of a message's blocks, oldest first (the fallback text repeats them)."""
    return [json.dumps(m.get("blocks", []), ensure_ascii=False) for m in (*message["history"], message)]


async def test_429_then_500_for_a_while_loses_nothing_keeps_order_no_dupes(
    js_ready: Client, slack: Slack
) -> None:
    """Two groups, each firing -> partly resolved -> resolved, while Slack throttles and then fails."""
    steps = {
        "GroupA": [
            [("a1", "firing"), ("a2", "firing")],
            [("a1", "resolved"), ("a2", "firing")],
            [("a1", "resolved"), ("a2", "resolved")],
        ],
        "GroupB": [
            [("b1", "firing")],
            [("b1", "firing"), ("b2", "firing")],
            [("b1", "resolved"), ("b2", "resolved")],
        ],
    }
    await slack.control.set_fault("ratelimited", count=4, retry_after=1)
    await slack.control.set_fault("server_error", seconds=6)
    async with slack.delivering(js_ready):
        for i in range(3):
            for group, versions in steps.items():
                await store(js_ready, webhook(group, versions[i]))

        async def all_there() -> list[dict[str, Any]] | None:
            messages = await slack.control.messages(slack.oncall)
            tops = top_level(messages)
            if len(tops) == 2 and all(len(replies(messages, t["ts"])) >= 2 for t in tops):
                return messages
            return None

        messages = await eventually(all_there, timeout=90, what="2 messages with 2 thread replies each")
        tops = top_level(messages)
        assert len(tops) == 2
        for top in tops:
            group = "GroupA" if "GroupA" in flat(top) else "GroupB"
            shown = updates_of(top)
            assert len(shown) == 3, shown
            # In order: first all firing, then one resolved, then all resolved.
            assert "FIRING" in shown[0] and ":white_check_mark: resolved" not in shown[0]
            assert "FIRING" in shown[1] and shown[1].count(":white_check_mark: resolved") == (
                1 if group == "GroupA" else 0
            )
            assert "RESOLVED" in shown[2]
            thread = replies(messages, top["ts"])
            assert len(thread) == 2
            assert "Update" in thread[0]["text"] and "Resolved" in thread[1]["text"]
        requests = await slack.control.requests()
        assert any(r["status"] == 429 for r in requests)
        assert any(r["status"] == 500 for r in requests)


async def test_stop_during_start_up_returns_and_a_restart_delivers(js_ready: Client, slack: Slack) -> None:
    for _ in range(3):
        early = slack.delivery(js_ready)
        await early.start()
        # One round trip to the server, so the start-up is half done when stop() comes.
        with contextlib.suppress(NotFoundError):
            await js_ready.jetstream().consumer_info("CHATOPS_ALERTS", "chatops-gateway-alerts")
        await asyncio.wait_for(early.stop(), 30)
        with contextlib.suppress(NotFoundError):
            await js_ready.jetstream().delete_consumer("CHATOPS_ALERTS", "chatops-gateway-alerts")
    delivery = slack.delivery(js_ready)
    await delivery.start()
    try:
        await store(js_ready, fixture("webhook-02-firing-ShortLived.json"))
        posted = await slack.control.wait_for_message(slack.oncall, timeout=30)
        assert "ShortLived" in flat(posted)
    finally:
        await asyncio.wait_for(delivery.stop(), 30)


async def test_a_changed_ack_wait_updates_the_durable_consumer(js_ready: Client, slack: Slack) -> None:
    js = js_ready.jetstream()
    for ack_wait in (30.0, 7.0):
        async with slack.delivering(js_ready, tuning=replace(FAST, ack_wait=ack_wait)):

            async def consumer_ack_wait(want: float = ack_wait) -> float | None:
                with contextlib.suppress(NotFoundError):
                    info = await js.consumer_info("CHATOPS_ALERTS", "chatops-gateway-alerts")
                    got = float(info.config.ack_wait or 0)
                    if got == want:
                        return got
                return None

            assert await eventually(consumer_ack_wait, timeout=30) == ack_wait


def _note(alerts: list[tuple[str, str, str, str]]) -> AlertNotification:
    """A notification of (fingerprint, status, starts_at, ends_at) alerts."""
    note = AlertNotification(status="firing" if any(s == "firing" for _, s, _, _ in alerts) else "resolved")
    for fingerprint, status, starts, ends in alerts:
        alert = note.alerts.add(fingerprint=fingerprint, status=status)
        alert.starts_at.FromJsonString(starts)
        if ends:
            alert.ends_at.FromJsonString(ends)
    return note


def test_an_old_snapshot_is_told_from_news_by_the_alerts_own_times() -> None:
    three, half, four, five = (
        "2026-11-27T03:00:00Z",
        "2026-11-27T03:30:00Z",
        "2026-11-27T04:00:00Z",
        "2026-11-27T04:05:00Z",
    )
    resolve = _note([("a", "resolved", three, four), ("b", "resolved", half, four)])
    # Started before the resolve says they ended: sent before it, arriving after it.
    assert old_snapshot(_note([("a", "firing", three, "")]), resolve)
    assert old_snapshot(_note([("a", "firing", three, ""), ("b", "firing", half, "")]), resolve)
    # Started again after it ended, or an alert the resolve does not know: news.
    assert not old_snapshot(_note([("a", "firing", five, "")]), resolve)
    assert not old_snapshot(_note([("a", "firing", three, ""), ("c", "firing", three, "")]), resolve)
    assert not old_snapshot(_note([("", "firing", three, "")]), resolve)
    assert not old_snapshot(_note([("a", "resolved", three, four)]), resolve)


async def test_an_old_firing_snapshot_after_the_resolve_is_not_posted_again_but_a_new_firing_is(
    js_ready: Client, slack: Slack
) -> None:
    name = "Snapshot"
    async with slack.delivering(js_ready):
        await store(js_ready, webhook(name, [("h1", "firing"), ("h2", "firing")]))
        posted = await slack.control.wait_for_message(slack.oncall, timeout=30)
        await store(js_ready, webhook(name, [("h1", "resolved"), ("h2", "resolved")]))
        await resolved_in_place(slack.control, slack.oncall, posted, name, timeout=30)
        # What an Alertmanager of an HA pair may send late: a firing snapshot taken before the resolve.
        old = await store(js_ready, webhook(name, [("h1", "firing")]))

        async def consumed() -> bool:
            info = await js_ready.jetstream().consumer_info("CHATOPS_ALERTS", "chatops-gateway-alerts")
            return bool(info.ack_floor.stream_seq >= old)

        await eventually(consumed, what="the old snapshot acknowledged")
        assert len(top_level(await slack.control.messages(slack.oncall))) == 1
        # The alert starts again after it ended: that fires the group again, in a new message.
        again = webhook(name, [("h1", "firing")])
        again["alerts"][0]["startsAt"] = "2026-11-27T04:10:00Z"
        await store(js_ready, again)

        async def reposted() -> bool:
            return len(top_level(await slack.control.messages(slack.oncall))) == 2

        await eventually(reposted, timeout=30, what="the group fired again in a new message")
