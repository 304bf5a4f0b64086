"""Renderers: replies -> Docs -> Slack blocks within Slack's limits, and console text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chatops.bus import CommandError, OpsNotRunning, OpsTimeout, ServiceFailed
from chatops.v1 import alerts_pb2, audit_pb2, sampling_pb2, traces_pb2, version_pb2
from gateway.commands import HelpRequest, Request, parse, render_reply
from gateway.commands.table import BY_PHRASE
from gateway.render.doc import Doc, Link, Links, Mention, Para, Table, took
from gateway.render.notes import confirm_doc, failure_doc, help_doc, refusal_doc, usage_doc
from gateway.render.slack import MAX_BLOCKS, MAX_SECTION, escape, to_slack
from gateway.render.text import to_text

T0 = datetime(2026, 3, 4, 12, 0, 0, tzinfo=UTC)
TID = "4bf92f3577b34da6a3ce929d0e0e4736"


def summary(i: int) -> traces_pb2.TraceSummary:
    s = traces_pb2.TraceSummary(
        url=f"http://127.0.0.1:16686/trace/{i:032x}",
        trace_id=f"{i:032x}",
        root_operation="/petstore.v1.PetStore/AddPets",
        span_count=3,
        has_errors=i % 2 == 0,
    )
    s.start.FromDatetime(T0 - timedelta(seconds=i))
    s.duration.FromTimedelta(timedelta(milliseconds=120))
    return s


def request(text: str) -> Request:
    parsed = parse(text)
    assert isinstance(parsed, Request)
    return parsed


def all_text(blocks) -> str:
    out = []
    for b in blocks:
        if "text" in b:
            out.append(b["text"]["text"])
        out.extend(f["text"] for f in b.get("fields", []))
        out.extend(e["text"] for e in b.get("elements", []))
    return "\n".join(out)


def check_limits(msg) -> None:
    assert len(msg.blocks) <= MAX_BLOCKS
    for b in msg.blocks:
        if "text" in b:
            assert len(b["text"]["text"]) <= MAX_SECTION
        assert len(b.get("fields", [])) <= 10
    assert len(msg.text) <= 3000


def test_trace_list_is_a_table_in_a_code_block_with_a_fallback():
    doc = render_reply("traces.list", traces_pb2.ListTracesReply(traces=[summary(1), summary(2)]))
    msg = to_slack(doc)
    check_limits(msg)
    body = all_text(msg.blocks)
    assert "```" in body
    assert f"{1:032x}" in body and "2026-03-04 11:59:59" in body and "120ms" in body
    assert "2 traces" in msg.text and f"{2:032x}" in msg.text
    tid = f"{1:032x}"
    assert f"<http://127.0.0.1:16686/trace/{tid}|{tid}>" in body  # a link that `show trace` accepts pasted


def test_many_links_are_cut_whole():
    links = tuple(Link(f"{i:032x}", f"http://127.0.0.1:16686/trace/{i:032x}") for i in range(200))
    text = to_slack(Doc("t", (Links(links),))).blocks[1]["text"]["text"]
    assert len(text) <= MAX_SECTION
    assert text.endswith(">") and text.count("<") == text.count(">")


def test_a_huge_table_is_cut_to_slack_limits_with_and_n_more():
    rows = tuple((f"row {i}", "x" * 200) for i in range(2000))
    msg = to_slack(Doc("big", (Table(("a", "b"), rows),)))
    check_limits(msg)
    assert len(msg.blocks) == MAX_BLOCKS
    last = msg.blocks[-1]
    assert last["type"] == "context"
    note = last["elements"][0]["text"]
    shown = all_text(msg.blocks[:-1]).count("row ")
    assert note == f"… and {2000 - shown} more"


def test_long_paragraphs_and_many_parts_stay_within_limits():
    doc = Doc("t", tuple(Para("y" * 5000) for _ in range(80)))
    msg = to_slack(doc)
    check_limits(msg)
    assert "more parts" in msg.blocks[-1]["elements"][0]["text"]


def test_slack_text_is_data_and_only_a_mention_part_mentions():
    assert escape("a<b>&c <@U024BE7LH>") == "a&lt;b&gt;&amp;c &lt;@U024BE7LH&gt;"
    para = Para(("Sorry ", Mention("U024BE7LH"), ", <@U0OTHER> <!here> ", Mention("U1|x> <!channel")))
    text = to_slack(Doc("", (para,))).blocks[0]["text"]["text"]
    assert text == "Sorry <@U024BE7LH>, &lt;@U0OTHER&gt; &lt;!here&gt; @U1|x&gt; &lt;!channel"


def test_show_trace_and_logs():
    reply = traces_pb2.ShowTraceReply(
        trace_id=TID,
        operations=["a", "b"],
        errors=["boom"],
        attribute_keys=["http.status_code"],
        longest_operation="b",
        url=f"http://127.0.0.1:4318/trace/{TID}",
        span_count=2,
    )
    reply.longest_span.FromTimedelta(timedelta(seconds=1.5))
    doc = render_reply("traces.show", reply)
    text = to_text(doc)
    assert TID in text and "boom" in text and "b (1.50s)" in text
    assert f"<http://127.0.0.1:4318/trace/{TID}|open the trace>" in all_text(to_slack(doc).blocks)
    entry = traces_pb2.LogEntry(operation="op", message="pet added", attributes={"id": "7"})
    entry.time.FromDatetime(T0)
    logs = to_text(render_reply("traces.logs", traces_pb2.ShowLogsReply(trace_id=TID, logs=[entry])))
    assert "pet added" in logs and "id=7" in logs and "2026-03-04 12:00:00" in logs
    assert "no log lines" in to_text(render_reply("traces.logs", traces_pb2.ShowLogsReply(trace_id=TID)))


def test_sampling_version_alerts_silence_history():
    always = sampling_pb2.Sampler(type=sampling_pb2.SAMPLER_TYPE_ALWAYS)
    rate = sampling_pb2.Sampler(type=sampling_pb2.SAMPLER_TYPE_FLOAT, rate=0.25)
    assert "float 0.25" in to_text(render_reply("sampling.get", sampling_pb2.GetSamplingReply(sampler=rate)))
    changed = render_reply("sampling.set", sampling_pb2.SetSamplingReply(previous=rate, current=always))
    assert changed.title == "Sampling changed from float 0.25 to always."
    one = version_pb2.GetVersionReply(
        versions=[version_pb2.DeployedVersion(version="1.2.3", instances=2, instance_names=["a", "b"])]
    )
    assert render_reply("version.get", one).title == "Deployed version: 1.2.3"
    assert "No instance" in render_reply("version.get", version_pb2.GetVersionReply()).title
    alert = alerts_pb2.Alert(
        name="HighLatency",
        state=alerts_pb2.ALERT_STATE_FIRING,
        labels={"alertname": "HighLatency", "severity": "page"},
        value="0.9",
    )
    text = to_text(render_reply("alerts.list", alerts_pb2.ListAlertsReply(alerts=[alert])))
    assert "HighLatency" in text and "firing" in text and "severity=page" in text
    assert render_reply("alerts.list", alerts_pb2.ListAlertsReply()).title == "No active alerts."
    silence = to_text(
        render_reply(
            "silences.create", alerts_pb2.CreateSilenceReply(silence_id="abc", created_by="slack:U1")
        )
    )
    assert "abc" in silence and "slack:U1" in silence
    event = audit_pb2.AuditEvent(
        actor="slack:U1",
        actor_name="alice",
        command="sampling.set",
        outcome="error",
        error_code=403,
        channel="C1",
    )
    history = to_text(render_reply("audit.list", audit_pb2.ListAuditReply(events=[event])))
    assert "alice" in history and "sampling.set" in history and "error 403" in history


def test_help_lists_every_command_and_explains_one():
    overview = to_text(help_doc(HelpRequest(None)))
    for phrase in BY_PHRASE:
        assert phrase in overview
    one = to_text(help_doc(HelpRequest(BY_PHRASE["silence"])))
    assert "silence <matchers> for=<duration>" in one and "Example:" in one


def test_usage_and_failures_are_short_and_name_what_failed():
    err = parse("list traces limit=500")
    assert not isinstance(err, Request | HelpRequest)
    doc = usage_doc(err)
    assert not doc.ok and "from 1 to 100" in to_text(doc)
    req = request("deployed version")
    assert "the Ops service is not answering" in failure_doc(req, OpsNotRunning("x")).title
    assert "the deployer is not answering" in failure_doc(request("deploys"), OpsNotRunning("x")).title
    assert "did not answer in time" in failure_doc(req, OpsTimeout("x")).title
    failed = failure_doc(req, ServiceFailed(502, "prometheus: connection refused")).title
    assert "502" in failed and "backend" in failed and "prometheus: connection refused" in failed
    assert "404, not found" in failure_doc(req, ServiceFailed(404, "no trace")).title
    assert "Traceback" not in failure_doc(req, CommandError("odd")).title


def test_refusal_names_the_admins_and_confirmation_names_the_command():
    req = request("change sampling always")
    refusal = refusal_doc(req, ("U024BE7LH", "slack:W0ADMIN", "console:root"))
    text = all_text(to_slack(refusal).blocks)
    assert "<@U024BE7LH>" in text and "<@W0ADMIN>" in text and "console:root" in text
    assert "nobody" in to_text(refusal_doc(req, ()))
    assert confirm_doc(req, 300).title == "Run `change sampling always`?"


def test_durations_read_naturally():
    assert [took(timedelta(seconds=s)) for s in (0.35, 1.25, 123, 3720)] == [
        "350ms",
        "1.25s",
        "2m03s",
        "1h02m",
    ]


def test_what_ops_left_out_is_said_in_every_list_reply():
    replies = {
        "traces.list": traces_pb2.ListTracesReply(traces=[summary(1)], omitted=7),
        "traces.logs": traces_pb2.ShowLogsReply(trace_id=TID, logs=[traces_pb2.LogEntry()], omitted=7),
        "traces.show": traces_pb2.ShowTraceReply(trace_id=TID, operations=["a"], omitted=7),
        "alerts.list": alerts_pb2.ListAlertsReply(alerts=[alerts_pb2.Alert(name="A")], omitted=7),
        "version.get": version_pb2.GetVersionReply(versions=[version_pb2.DeployedVersion()], omitted=7),
        "audit.list": audit_pb2.ListAuditReply(events=[audit_pb2.AuditEvent()], omitted=7),
    }
    for name, reply in replies.items():
        doc = render_reply(name, reply)
        assert "… 7 more not shown: the whole answer is too big to send over the bus." in to_text(doc), name
        check_limits(to_slack(doc))
    whole = render_reply("traces.list", traces_pb2.ListTracesReply(traces=[summary(1)]))
    assert "more not shown" not in to_text(whole)


def test_history_says_when_older_events_were_not_searched():
    reply = audit_pb2.ListAuditReply(unsearched=12345)
    reply.searched_back_to.FromDatetime(T0)
    text = to_text(render_reply("audit.list", reply))
    assert text.startswith("Nothing in the audit log matches.")
    assert "Only the newest events were searched (back to 2026-03-04 12:00:00 UTC): 12345 older" in text
    assert "searched" not in to_text(render_reply("audit.list", audit_pb2.ListAuditReply()))


def test_busy_is_said_as_busy():
    doc = failure_doc(request("deployed version"), ServiceFailed(503, "32 version.get commands are running"))
    assert doc.title == "`deployed version` failed (503, ops is busy): 32 version.get commands are running"


def test_list_titles_agree_in_number_with_their_count():
    def titles(n: int) -> list[str]:
        alert = alerts_pb2.Alert(name="A", state=alerts_pb2.ALERT_STATE_FIRING)
        event = audit_pb2.AuditEvent(actor="slack:U1", command="version.get", outcome="ok")
        log = traces_pb2.LogEntry(operation="op", message="m")
        return [
            render_reply(
                "traces.list", traces_pb2.ListTracesReply(traces=[summary(i) for i in range(n)])
            ).title,
            render_reply("traces.logs", traces_pb2.ShowLogsReply(trace_id=TID, logs=[log] * n)).title,
            render_reply("alerts.list", alerts_pb2.ListAlertsReply(alerts=[alert] * n)).title,
            render_reply("audit.list", audit_pb2.ListAuditReply(events=[event] * n)).title,
        ]

    assert titles(1) == [
        "1 trace, newest first:",
        f"1 log line of trace {TID}:",
        "1 active alert:",
        "1 audit event, newest first:",
    ]
    assert titles(2) == [
        "2 traces, newest first:",
        f"2 log lines of trace {TID}:",
        "2 active alerts:",
        "2 audit events, newest first:",
    ]
