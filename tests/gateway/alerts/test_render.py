"""An AlertNotification as the renderer's document, and that document as Slack blocks within limits."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from chatops.v1.events_pb2 import AlertInstance, AlertNotification
from chatops.v1.records_pb2 import ChatSilence
from gateway.alerts.render import Limits, alert_doc, silence_reply, update_reply
from gateway.render.doc import Buttons
from gateway.render.slack import TONE_COLOURS, SlackMessage, to_slack
from gateway.render.text import to_text
from notifier.webhook import parse_payload, to_notification
from tools.harness.alerts import FIXTURES


def fixture(name: str) -> AlertNotification:
    return to_notification(parse_payload((FIXTURES / name).read_bytes()))


def render(note: AlertNotification, **kwargs: Any) -> SlackMessage:
    return to_slack(alert_doc(note, **kwargs))


def all_text(blocks: tuple[dict[str, Any], ...]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def buttons(blocks: tuple[dict[str, Any], ...]) -> list[dict[str, Any]]:
    return [e for b in blocks if b["type"] == "actions" for e in b["elements"]]


def test_firing_message_shows_what_on_call_needs() -> None:
    note = fixture("webhook-01-firing-AlwaysFiring.json")
    doc = alert_doc(note, ref="abc123")
    assert doc.title.endswith("FIRING [none] AlwaysFiring")
    msg = to_slack(doc)
    text = all_text(msg.blocks)
    assert "FIRING [none] AlwaysFiring" in msg.blocks[0]["text"]["text"]
    assert "Always firing test alert" in text
    assert "`team=chatops`" in text
    assert "since 2026-11-27 03:55:51 UTC" in text
    # In Slack's markup a link's & is written &amp; (Slack shows and follows it as &).
    assert "<http://127.0.0.1:19090/graph?g0.expr=vector%281%29&amp;g0.tab=1|graph>" in text
    assert "<http://127.0.0.1:19093/#/alerts|Alertmanager>" in text
    assert [(b["action_id"], b["text"]["text"], b["value"]) for b in buttons(msg.blocks)] == [
        ("chatops_ack", "Ack", "abc123"),
        ("chatops_silence_1h", "Silence 1h", "abc123"),
        ("chatops_silence_4h", "Silence 4h", "abc123"),
    ]
    assert msg.blocks[-1]["type"] == "actions"  # the buttons come last
    assert msg.attachments[0]["color"] == TONE_COLOURS["none"]
    assert "AlwaysFiring" in msg.text
    assert "Always firing test alert" in to_text(doc)  # the same document reads as plain text


def test_resolved_message_strikes_alerts_and_turns_green() -> None:
    note = fixture("webhook-04-resolved-ShortLived.json")
    msg = render(note, ref="r")
    text = all_text(msg.blocks)
    assert "RESOLVED" in msg.blocks[0]["text"]["text"]
    assert "~*ShortLived*" in text
    assert "resolved at 2026-11-27 03:56:06 UTC" in text
    assert msg.attachments[0]["color"] == TONE_COLOURS["resolved"]
    assert buttons(msg.blocks) == []
    assert not any(isinstance(p, Buttons) for p in alert_doc(note, ref="r").footer)
    assert update_reply(note).title.startswith(":white_check_mark: Resolved")


def test_partly_resolved_group_marks_only_the_resolved_alert() -> None:
    note = fixture("webhook-01-firing-AlwaysFiring.json")
    second = AlertInstance()
    second.CopyFrom(note.alerts[0])
    second.status = "resolved"
    second.labels["instance"] = "b"
    note.alerts.append(second)
    text = all_text(render(note, ref="r").blocks)
    assert text.count(":fire:") == 1
    assert text.count(":white_check_mark: resolved") == 1
    assert "1 firing, 1 resolved" in update_reply(note).title


def test_truncated_alerts_are_counted_in_and_more() -> None:
    msg = render(fixture("webhook-03-firing-Multi.json"), ref="r")
    assert "… and 2 more" in all_text(msg.blocks)


def test_alert_text_is_data_no_markup_or_mention_gets_through() -> None:
    note = fixture("webhook-01-firing-AlwaysFiring.json")
    note.common_annotations["summary"] = "<!channel> & <http://evil|click> <@U0BOSS>"
    note.alerts[0].annotations["summary"] = "<@U0BOSS> look"
    text = all_text(render(note, ref="r").blocks)
    assert "<!channel>" not in text and "<@U0BOSS>" not in text
    assert "&lt;!channel&gt; &amp;" in text and "&lt;@U0BOSS&gt; look" in text


def test_silenced_note_and_reply() -> None:
    silence = ChatSilence(user_id="U123", silence_id="s1", url="http://am/#/silences/s1")
    silence.until.FromDatetime(datetime(2026, 11, 27, 6, 0, tzinfo=UTC))
    text = all_text(render(fixture("webhook-01-firing-AlwaysFiring.json"), ref="r", silence=silence).blocks)
    assert "Silenced by <@U123> until 2026-11-27 06:00 UTC <http://am/#/silences/s1|silence>" in text
    reply = to_slack(silence_reply(silence))
    assert "<@U123> silenced this group until 2026-11-27 06:00 UTC" in all_text(reply.blocks)
    assert "<@U123> silenced this group" in reply.text


def big_group(count: int, text_len: int) -> AlertNotification:
    note = fixture("webhook-01-firing-AlwaysFiring.json")
    template = note.alerts[0]
    del note.alerts[:]
    for i in range(count):
        alert = AlertInstance()
        alert.CopyFrom(template)
        alert.labels["instance"] = f"host-{i:04d}"
        alert.annotations["summary"] = "s" * text_len
        note.alerts.append(alert)
    return note


def section_texts(blocks: tuple[dict[str, Any], ...]) -> list[str]:
    return [b["text"]["text"] for b in blocks if b["type"] == "section"]


def test_a_group_of_500_is_one_message_within_slack_limits() -> None:
    msg = render(big_group(500, 80), ref="r")
    assert len(msg.blocks) <= 50
    assert all(len(t) <= 3000 for t in section_texts(msg.blocks))
    assert "… and 460 more" in all_text(msg.blocks)
    assert all_text(msg.blocks).count("host-") == 40
    assert msg.blocks[-1]["type"] == "actions"


@settings(max_examples=60, deadline=None)
@given(
    count=st.integers(min_value=1, max_value=120),
    text_len=st.integers(min_value=0, max_value=5000),
    listed=st.integers(min_value=1, max_value=200),
    truncated=st.integers(min_value=0, max_value=1000),
)
def test_limits_hold_for_any_group(count: int, text_len: int, listed: int, truncated: int) -> None:
    note = big_group(count, text_len)
    note.truncated_alerts = truncated
    note.common_annotations["description"] = "d" * text_len
    msg = render(note, ref="r", limits=Limits(max_listed_alerts=listed))
    assert len(msg.blocks) <= 50
    assert all(len(t) <= 3000 for t in section_texts(msg.blocks))
    assert len(msg.blocks[0]["text"]["text"]) <= 152  # the headline, cut to 150, in bold
    assert buttons(msg.blocks)  # the buttons are never cut
    shown = all_text(msg.blocks).count("host-")
    hidden = count - shown + truncated
    if hidden:
        assert f"… and {hidden} more" in all_text(msg.blocks)
    else:
        assert "more" not in all_text(msg.blocks)
