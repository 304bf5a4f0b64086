"""`ack`, `unack` and `timeline`: the grammar and the replies, pure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chatops.v1 import cards_pb2 as pb
from gateway.commands import render_reply
from gateway.render.slack import to_slack
from gateway.render.text import to_text
from tests.gateway.parsing import NOW, bad, ok


def test_ack_takes_one_card_ref_or_alert_name_and_changes_nothing() -> None:
    assert ok("ack 3fa2c1d0").message == pb.AckAlertRequest(alert="3fa2c1d0")
    assert ok("ack #3FA2C1").message == pb.AckAlertRequest(alert="#3FA2C1")
    assert ok("unack PetstoreErrorRatioHigh").message == pb.AckAlertRequest(alert="PetstoreErrorRatioHigh")
    assert ok("ack x").command.changes is False  # anyone on call may say they are on it
    assert "takes one alert" in bad("ack").problem
    assert "takes one alert" in bad("ack a b").problem
    assert "neither a card's ref" in bad("ack <!channel>").problem


def test_timeline_takes_a_window_an_alert_and_a_limit() -> None:
    request = ok("timeline since=1h alert=PetstoreDown limit=20").message
    assert isinstance(request, pb.TimelineRequest)
    assert request.alert == "PetstoreDown" and request.limit == 20
    assert request.since.ToDatetime(tzinfo=UTC) == NOW - timedelta(hours=1)
    assert not ok("timeline").message.HasField("since")  # ops' default: 2 hours
    assert "1m to 7d" in bad("timeline since=8d").problem
    assert "neither a card's ref" in bad("timeline alert=a|b").problem
    assert "limit" in bad("timeline limit=501").problem


def test_an_ack_reply_says_who_is_on_it_and_a_refusal_says_why() -> None:
    acked = pb.AckAlertReply(
        outcome=pb.ACK_OUTCOME_ACKED, short_ref="3fa2c1d0", alertnames=["Down"], actor="slack:U1ALICE"
    )
    assert "<@U1ALICE> acknowledged Down (`3fa2c1d0`)" in to_slack(render_reply("alerts.ack", acked)).text
    already = pb.AckAlertReply(
        outcome=pb.ACK_OUTCOME_ALREADY_ACKED, short_ref="3fa2c1d0", actor="console:bob", actor_name="bob"
    )
    already.time.FromDatetime(datetime(2026, 11, 30, 1, 2, tzinfo=UTC))
    slack = to_slack(render_reply("alerts.ack", already)).text
    assert "already acknowledged by `bob`" in slack and "<!date^1796000520^{ago}|" in slack
    assert "2026-11-30 01:02 UTC" in to_text(render_reply("alerts.ack", already))
    resolved = render_reply("alerts.ack", pb.AckAlertReply(outcome=pb.ACK_OUTCOME_RESOLVED, short_ref="x"))
    assert "every alert of the alert (`x`) is resolved" in to_text(resolved)
    assert "no ack to take back" in to_text(
        render_reply("alerts.unack", pb.AckAlertReply(outcome=pb.ACK_OUTCOME_NOT_ACKED))
    )


def _entry(
    minute: int, kind: pb.TimelineKind, summary: str, actor: str = "", actor_name: str = ""
) -> pb.TimelineEntry:
    entry = pb.TimelineEntry(kind=kind, summary=summary, actor=actor, actor_name=actor_name)
    entry.time.FromDatetime(datetime(2026, 11, 30, 1, minute, tzinfo=UTC))
    return entry


def test_the_timeline_is_lines_in_the_thread_and_a_markdown_table_for_the_post_mortem() -> None:
    reply = pb.TimelineReply(
        entries=[
            _entry(1, pb.TIMELINE_KIND_ALERT, "FIRING [critical] Down: 1 firing, 0 resolved"),
            _entry(3, pb.TIMELINE_KIND_ACK, "acknowledged Down", actor="slack:U1", actor_name="alice"),
            _entry(4, pb.TIMELINE_KIND_COMMAND, "version.get → ok", actor_name="a|b"),
        ],
        omitted=2,
    )
    reply.since.FromDatetime(datetime(2026, 11, 30, 0, 30, tzinfo=UTC))
    doc = render_reply("timeline.show", reply)
    text = to_text(doc)
    assert doc.title == "Timeline since 2026-11-30 00:30 UTC: 3 events"
    assert text.index("01:01:00 FIRING") < text.index("01:03:00 acknowledged Down — alice")
    assert "2 later events are not listed" in text
    assert doc.attachment is not None and doc.attachment.filename == "timeline-20261130-0030.md"
    markdown = doc.attachment.text
    assert markdown.startswith("# Timeline since 2026-11-30 00:30 UTC\n")
    assert "| 01:03:00 | ack | alice | acknowledged Down |" in markdown
    assert "| 01:04:00 | command | a\\|b | version.get → ok |" in markdown  # a pipe cannot break the table
    empty = pb.TimelineReply()
    empty.since.FromDatetime(datetime(2026, 11, 30, tzinfo=UTC))
    assert "Nothing happened in this window." in to_text(render_reply("timeline.show", empty))
