"""Nothing an alert or a user sends reaches Slack as markup: one renderer escapes commands and alerts.

The check reads every place Slack parses mrkdwn (section and context text, fields, the fallback
`text`, attachment text) and allows exactly two kinds of `<…>`: a mention the Doc asked for with a
Mention part, and a link of a Doc's Link part with an http(s) URL and that part's own label.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from chatops.bus import CommandError, ServiceFailed
from chatops.v1 import alerts_pb2, audit_pb2, traces_pb2, version_pb2
from chatops.v1.events_pb2 import AlertInstance, AlertNotification
from chatops.v1.records_pb2 import ChatSilence
from gateway.alerts.render import alert_doc, silence_reply, update_reply
from gateway.commands import Request, UsageError, parse, render_reply
from gateway.render.doc import Doc, Lines, Link, Links, Mention, Note, Para
from gateway.render.notes import failure_doc, usage_doc
from gateway.render.slack import SlackMessage, escape, plain, slack_url, to_slack
from gateway.slack.blocks import resolved_message

HOSTILE = (
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<!subteam^S0123|@oncall>",
    "<@U0BOSS>",
    "<@W0BOSS|boss>",
    "<#C0GENERAL>",
    "<http://evil|click me>",
    "<mailto:x@y|mail>",
    "http://x> <!channel> <http://evil",
    "https://ok.example/a?b=1&c=2",
    "javascript:alert(1)",
    "&lt;!channel&gt;",
    "&amp;",
    "a|b>c<d",
    "`code` *bold* ~strike~",
    "\u202e\u0000\ufeff",
)
hostile_text = st.one_of(
    st.text(max_size=60),
    st.sampled_from(HOSTILE),
    st.lists(st.sampled_from(HOSTILE), min_size=1, max_size=4).map(" ".join),
)
MENTION = re.compile(r"<@([UW][A-Z0-9]{1,20})>")
LINK = re.compile(r"<(https?://[^\s<>|]+)\|([^<>]*)>", re.IGNORECASE)
ENTITY = re.compile(r"&(amp|lt|gt);")


def mrkdwn_strings(msg: SlackMessage) -> Iterator[str]:
    """Every string of the message that Slack reads as mrkdwn."""
    yield msg.text
    for block in msg.blocks:
        text = block.get("text")
        if isinstance(text, dict) and text.get("type") == "mrkdwn":
            yield text["text"]
        for item in (*block.get("fields", ()), *block.get("elements", ())):
            if isinstance(item, dict) and item.get("type") == "mrkdwn":
                yield item["text"]
    for attachment in msg.attachments:
        yield attachment.get("text", "")
        yield attachment.get("fallback", "")


def doc_links(doc: Doc) -> list[Link]:
    found: list[Link] = []
    for part in (*doc.parts, *doc.footer):
        if isinstance(part, Link):
            found.append(part)
        elif isinstance(part, Links):
            found.extend(part.links)
        elif isinstance(part, Lines):
            found.extend(line.link for line in part.lines if line.link is not None)
        elif isinstance(part, Note) and part.link is not None:
            found.append(part.link)
    return found


def doc_mentions(doc: Doc) -> set[str]:
    found: set[str] = set()
    for part in (*doc.parts, *doc.footer):
        if isinstance(part, Para | Note) and not isinstance(part.text, str):
            found.update(s.user for s in part.text if isinstance(s, Mention))
    return found


def assert_inert(msg: SlackMessage, doc: Doc) -> None:
    """No markup but the Doc's own mentions and links; every other <, > and & is escaped."""
    links = {(slack_url(link.url), escape(link.label) or "link") for link in doc_links(doc)}  # as rendered
    mentions = doc_mentions(doc)
    for text in mrkdwn_strings(msg):
        for user in MENTION.findall(text):
            assert user in mentions, (user, text)
        for url, label in LINK.findall(text):
            assert any(url == u and (label == lab or label.endswith("…")) for u, lab in links), (url, label)
        rest = LINK.sub("", MENTION.sub("", text))
        assert "<" not in rest and ">" not in rest, text
        assert "&" not in ENTITY.sub("", rest), text


def check(doc: Doc) -> None:
    msg = to_slack(doc)
    assert_inert(msg, doc)
    assert_inert(plain(msg), doc)


def test_the_injection_alert_renders_as_inert_text() -> None:
    note = AlertNotification(group_key='{}:{alertname="X"}', status="firing", severity="critical")
    note.common_labels["alertname"] = "X"
    alert = note.alerts.add(status="firing", generator_url="http://x> <!channel> <http://evil")
    alert.labels["alertname"] = "X"
    note.external_url = "http://am|<!here>"
    doc = alert_doc(note, ref="r")
    msg = to_slack(doc)
    check(doc)
    blob = "".join(mrkdwn_strings(msg))
    assert "<!channel>" not in blob and "<!here>" not in blob and "<http://evil" not in blob
    assert [label for _, label in LINK.findall(blob)].count("graph") == 2  # in the blocks and the text
    assert "<http://x%3E%20%3C!channel%3E%20%3Chttp://evil|graph>" in blob
    assert "<http://am%7C%3C!here%3E/#/alerts|Alertmanager>" in blob


def test_only_http_links_are_links() -> None:
    for url in ("javascript:alert(1)", "slack://open", "mailto:a@b", "//evil", "http://[broken", "", " "):
        doc = Doc("t", (Link("open", url),))
        text = to_slack(doc).blocks[1]["text"]["text"]
        assert text == "open", url
    assert slack_url("HTTPS://Example.com/a b|c") == "HTTPS://Example.com/a%20b%7Cc"


@st.composite
def alerts(draw: st.DrawFn) -> AlertNotification:
    note = AlertNotification(
        group_key=draw(hostile_text),
        status=draw(st.sampled_from(["firing", "resolved"])),
        severity=draw(st.sampled_from(["critical", "warning", "info", "none", "<!channel>"])),
        external_url=draw(hostile_text),
        truncated_alerts=draw(st.integers(0, 3)),
    )
    for key in ("alertname", "team", "<!here>"):
        note.common_labels[key] = draw(hostile_text)
    note.common_annotations["summary"] = draw(hostile_text)
    note.common_annotations["description"] = draw(hostile_text)
    for _ in range(draw(st.integers(1, 3))):
        alert = AlertInstance(
            status=draw(st.sampled_from(["firing", "resolved"])), generator_url=draw(hostile_text)
        )
        alert.labels[draw(hostile_text)] = draw(hostile_text)
        alert.labels["alertname"] = draw(hostile_text)
        alert.annotations["summary"] = draw(hostile_text)
        alert.starts_at.FromDatetime(datetime(2026, 1, 2, tzinfo=UTC))
        note.alerts.append(alert)
    return note


@given(note=alerts(), user=hostile_text, url=hostile_text)
@settings(max_examples=300, deadline=None)
def test_no_alert_field_becomes_markup(note: AlertNotification, user: str, url: str) -> None:
    silence = ChatSilence(user_id=user, silence_id="s", url=url)
    silence.until.FromDatetime(datetime(2099, 1, 1, tzinfo=UTC))
    check(alert_doc(note, ref="r", silence=silence))
    check(update_reply(note))
    check(silence_reply(silence))


def replies(text: st.SearchStrategy[str]) -> st.SearchStrategy[tuple[str, Any]]:
    trace = st.builds(
        traces_pb2.TraceSummary, trace_id=text, root_operation=text, url=text, span_count=st.integers(0, 9)
    )
    return st.one_of(
        st.tuples(
            st.just("traces.list"), st.builds(traces_pb2.ListTracesReply, traces=st.lists(trace, max_size=3))
        ),
        st.tuples(
            st.just("traces.show"),
            st.builds(
                traces_pb2.ShowTraceReply,
                trace_id=text,
                operations=st.lists(text, max_size=3),
                errors=st.lists(text, max_size=3),
                attribute_keys=st.lists(text, max_size=3),
                longest_operation=text,
                url=text,
            ),
        ),
        st.tuples(
            st.just("traces.logs"),
            st.builds(
                traces_pb2.ShowLogsReply,
                trace_id=text,
                logs=st.lists(st.builds(traces_pb2.LogEntry, operation=text, message=text), max_size=3),
            ),
        ),
        st.tuples(
            st.just("version.get"),
            st.builds(
                version_pb2.GetVersionReply,
                versions=st.lists(
                    st.builds(
                        version_pb2.DeployedVersion, version=text, instance_names=st.lists(text, max_size=2)
                    ),
                    max_size=2,
                ),
            ),
        ),
        st.tuples(
            st.just("alerts.list"),
            st.builds(
                alerts_pb2.ListAlertsReply,
                alerts=st.lists(
                    st.builds(
                        alerts_pb2.Alert,
                        name=text,
                        value=text,
                        labels=st.dictionaries(text, text, max_size=2),
                    ),
                    max_size=3,
                ),
            ),
        ),
        st.tuples(
            st.just("silences.create"),
            st.builds(alerts_pb2.CreateSilenceReply, silence_id=text, created_by=text, url=text),
        ),
        st.tuples(
            st.just("audit.list"),
            st.builds(
                audit_pb2.ListAuditReply,
                events=st.lists(
                    st.builds(
                        audit_pb2.AuditEvent,
                        actor=text,
                        actor_name=text,
                        command=text,
                        channel=text,
                        outcome=text,
                    ),
                    max_size=3,
                ),
            ),
        ),
    )


@given(reply=replies(hostile_text))
@settings(max_examples=300, deadline=None)
def test_no_command_reply_field_becomes_markup(reply: tuple[str, Any]) -> None:
    command, message = reply
    check(render_reply(command, message))


@given(
    typed=st.lists(
        st.sampled_from(
            ["list traces", "history user=", "silence", "show trace", "alerts labels=[", *HOSTILE]
        ),
        max_size=5,
    ).map(" ".join),
    owner=hostile_text,
)
@settings(max_examples=300, deadline=None)
def test_no_user_text_becomes_markup(typed: str, owner: str) -> None:
    parsed = parse(typed)
    if isinstance(parsed, UsageError):
        check(usage_doc(parsed))
    if isinstance(parsed, Request):
        check(failure_doc(parsed, ServiceFailed(400, typed)))
        check(failure_doc(parsed, CommandError(typed)))
    note = ("Cancelled by ", Mention(owner), f": `{typed}` was not run.")
    done = resolved_message(note, Doc(typed, (Para(typed),)))
    assert_inert(done, Doc("", (Note(note), Para(typed))))
