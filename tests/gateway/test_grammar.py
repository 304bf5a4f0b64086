"""The command grammar: every command and option, link markup, suggestions, and any text at all."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chatops.v1 import alerts_pb2, audit_pb2, graphs_pb2, sampling_pb2, traces_pb2, version_pb2
from gateway.commands import SPECS, HelpRequest, Request, UsageError, parse
from gateway.commands.table import BY_PHRASE
from tests.gateway.parsing import NOW, bad, ok

TID = "4bf92f3577b34da6a3ce929d0e0e4736"


def test_help_and_empty_text_ask_for_help():
    assert parse("help") == HelpRequest(None)
    assert parse("   ") == HelpRequest(None)
    assert parse("<@U0BOT> ") == HelpRequest(None)
    assert parse("help list traces") == HelpRequest(BY_PHRASE["list traces"])
    assert parse("HELP  Change   Sampling") == HelpRequest(BY_PHRASE["change sampling"])


def test_help_for_an_unknown_command_suggests_the_closest():
    err = bad("help lsit traces")
    assert "Did you mean `list traces`?" in err.text


def test_list_traces_without_options_asks_for_defaults():
    req = ok("list traces")
    assert req.command.name == "traces.list"
    assert req.message == traces_pb2.ListTracesRequest()


def test_list_traces_every_option():
    req = ok(
        "list traces operation=/petstore.v1.PetStore/AddPets start=03/04/2026-10:00:00 "
        "end=03/04/2026-11:30:00 limit=25 tags=[error, http.status_code=500] service=petstore "
        "min=250ms max=2s"
    )
    m = req.message
    assert isinstance(m, traces_pb2.ListTracesRequest)
    assert m.operation == "/petstore.v1.PetStore/AddPets"
    assert m.start.ToDatetime(tzinfo=UTC) == datetime(2026, 3, 4, 10, 0, tzinfo=UTC)
    assert m.end.ToDatetime(tzinfo=UTC) == datetime(2026, 3, 4, 11, 30, tzinfo=UTC)
    assert m.limit == 25
    assert list(m.tags) == ["error", "http.status_code=500"]
    assert m.service == "petstore"
    assert m.min_duration.ToTimedelta() == timedelta(milliseconds=250)
    assert m.max_duration.ToTimedelta() == timedelta(seconds=2)


def test_list_traces_since_and_end_now():
    m = ok("list traces since=1h30m end=now").message
    assert isinstance(m, traces_pb2.ListTracesRequest)
    assert m.start.ToDatetime(tzinfo=UTC) == NOW - timedelta(minutes=90)
    assert not m.HasField("end")


def test_list_traces_seed_form_without_seconds():
    m = ok("list traces start=03/04/2026-10:00").message
    assert isinstance(m, traces_pb2.ListTracesRequest)
    assert m.start.ToDatetime(tzinfo=UTC) == datetime(2026, 3, 4, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("list traces limit=101", "from 1 to 100"),
        ("list traces limit=ten", "whole number"),
        ("list traces start=yesterday", "MM/DD/YYYY-HH:MM:SS"),
        ("list traces end=13/45/2026", "not a time"),
        ("list traces since=soon", "not a duration"),
        ("list traces since=1h start=03/04/2026-10:00", "not both"),
        ("list traces start=03/04/2026-11:00 end=03/04/2026-10:00", "before"),
        ("list traces tags=[error", "never closes"),
        ("list traces tags=[]", "empty"),
        ("list traces colour=blue", "no option `colour=`"),
        ("list traces limit=5 limit=6", "twice"),
        ("list traces operation=", "needs a value"),
        ("list traces AddPets", "I don't understand `AddPets`"),
        ("list traces min=2s max=1s", "longer than"),
        ("list traces end=01/01/0001 since=1d", "out of range"),
    ],
)
def test_list_traces_mistakes_say_what_was_wrong(text, says):
    err = bad(text)
    assert says in err.text
    assert "list traces [operation=X]" in err.text  # the right form


@pytest.mark.parametrize(
    "pasted",
    [
        TID,
        TID.upper(),
        f"<http://127.0.0.1:16686/trace/{TID}|{TID}>",
        f"<https://jaeger.example/trace/{TID}|open>",
        f"<{TID}>",
        f"<http://127.0.0.1:4318/trace/{TID}>",
        f"&lt;{TID}&gt;",
    ],
)
def test_show_trace_accepts_ids_pasted_with_slack_markup(pasted):
    req = ok(f"show trace {pasted}")
    assert req.message == traces_pb2.ShowTraceRequest(trace_id=TID)
    logs = ok(f"show logs {pasted}")
    assert logs.command.name == "traces.logs"
    assert logs.message == traces_pb2.ShowLogsRequest(trace_id=TID)


def test_short_trace_ids_are_accepted():
    assert ok("show trace 00f067aa0ba902b7").message == traces_pb2.ShowTraceRequest(
        trace_id="00f067aa0ba902b7"
    )


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("show trace", "needs a trace id"),
        ("show trace xyz", "not a trace id"),
        ("show trace 4bf92f35", "16 or 32 hex digits"),
        (f"show logs {TID} {TID}", "one trace id"),
    ],
)
def test_show_mistakes(text, says):
    assert says in bad(text).text


@pytest.mark.parametrize(
    ("text", "sampler"),
    [
        ("change sampling never", sampling_pb2.Sampler(type=sampling_pb2.SAMPLER_TYPE_NEVER)),
        ("change sampling ALWAYS", sampling_pb2.Sampler(type=sampling_pb2.SAMPLER_TYPE_ALWAYS)),
        ("change sampling float 0.25", sampling_pb2.Sampler(type=sampling_pb2.SAMPLER_TYPE_FLOAT, rate=0.25)),
        ("change sampling float=1", sampling_pb2.Sampler(type=sampling_pb2.SAMPLER_TYPE_FLOAT, rate=1.0)),
        ("change sampling float 10%", sampling_pb2.Sampler(type=sampling_pb2.SAMPLER_TYPE_FLOAT, rate=0.1)),
    ],
)
def test_change_sampling(text, sampler):
    req = ok(text)
    assert req.command.name == "sampling.set"
    assert req.command.changes
    assert req.message == sampling_pb2.SetSamplingRequest(sampler=sampler)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("change sampling", "say which sampler"),
        ("change sampling sometimes", "not a sampler"),
        ("change sampling float", "needs one rate"),
        ("change sampling float 0", "more than 0"),
        ("change sampling float 1.5", "at most 1"),
        ("change sampling float lots", "not a number"),
        ("change sampling always 0.5", "takes no rate"),
    ],
)
def test_change_sampling_mistakes(text, says):
    err = bad(text)
    assert says in err.text
    assert "change sampling never|always|float <rate>" in err.text


def test_show_sampling_and_deployed_version():
    assert ok("show sampling").message == sampling_pb2.GetSamplingRequest()
    assert "takes nothing" in bad("show sampling now").text
    assert ok("deployed version").message == version_pb2.GetVersionRequest()
    assert ok("deployed version job=api").message == version_pb2.GetVersionRequest(job="api")


def test_alerts_every_option():
    m = ok("alerts labels=[severity=critical,team] state=firing since=2h").message
    assert isinstance(m, alerts_pb2.ListAlertsRequest)
    assert list(m.labels) == ["severity=critical", "team"]
    assert m.state == alerts_pb2.ALERT_STATE_FIRING
    assert m.active_since.ToDatetime(tzinfo=UTC) == NOW - timedelta(hours=2)
    assert ok("alerts state=pending").message == alerts_pb2.ListAlertsRequest(
        state=alerts_pb2.ALERT_STATE_PENDING
    )
    assert ok("alerts").message == alerts_pb2.ListAlertsRequest()
    assert "not a state" in bad("alerts state=sleeping").text


def test_silence_with_matchers_duration_and_comment():
    req = ok(
        'silence alertname=HighLatency severity=~"crit.*" instance!=a:1 job!~test.* for=2h fixing it now'
    )
    m = req.message
    assert isinstance(m, alerts_pb2.CreateSilenceRequest)
    assert req.command.changes
    assert [(x.name, x.value, x.is_regex, x.is_equal) for x in m.matchers] == [
        ("alertname", "HighLatency", False, True),
        ("severity", "crit.*", True, True),
        ("instance", "a:1", False, False),
        ("job", "test.*", True, False),
    ]
    assert m.duration.ToTimedelta() == timedelta(hours=2)
    assert m.comment == "fixing it now"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("silence for=1h", "which alerts"),
        ("silence alertname=X", "for how long"),
        ("silence alertname=X for=30s", "from 1m to 30d"),
        ("silence alertname=X for=31d", "from 1m to 30d"),
        ("silence oops for=1h", "not a matcher"),
        ("silence alertname= for=1h", "has no value"),
        ("silence alertname=~[ for=1h", "not a valid regular expression"),
    ],
)
def test_silence_mistakes(text, says):
    assert says in bad(text).text


def test_history_every_option():
    m = ok("history limit=5 user=<@U024BE7LH> command=sampling.set since=1d").message
    assert isinstance(m, audit_pb2.ListAuditRequest)
    assert m == audit_pb2.ListAuditRequest(
        limit=5, actor="slack:U024BE7LH", command="sampling.set", since=m.since
    )
    assert m.since.ToDatetime(tzinfo=UTC) == NOW - timedelta(days=1)
    assert ok("history user=<@U024BE7LH|alice>").message == audit_pb2.ListAuditRequest(
        actor="slack:U024BE7LH"
    )
    assert ok("history user=console:alice").message == audit_pb2.ListAuditRequest(actor="console:alice")
    assert "names nobody" in bad("history user=alice").text
    assert "from 1 to 100" in bad("history limit=0").text
    assert ok("history command=sampling").message == audit_pb2.ListAuditRequest(command="sampling")
    assert "not a bus command" in bad("history command=change-sampling!").text


def test_graph_takes_the_query_and_trailing_options():
    m = ok("graph rate(petstore_requests_total[1m])").message
    assert m == graphs_pb2.RenderGraphRequest(query="rate(petstore_requests_total[1m])")
    # Slack escapes > and wraps pasted code in backticks; both are undone, and the options come last.
    m = ok("graph `sum by (job) (rate(x[5m])) &gt; 0.05` for=6h step=1m").message
    assert isinstance(m, graphs_pb2.RenderGraphRequest)
    assert m.query == "sum by (job) (rate(x[5m])) > 0.05"
    assert (m.range.ToTimedelta(), m.step.ToTimedelta()) == (timedelta(hours=6), timedelta(minutes=1))
    m = ok('graph up{job="petstore", instance=~"127.*"} STEP=30s').message
    assert isinstance(m, graphs_pb2.RenderGraphRequest)
    assert m.query == 'up{job="petstore", instance=~"127.*"}' and not m.HasField("range")
    assert m.step.ToTimedelta() == timedelta(seconds=30)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("graph", "say what to graph"),
        ("graph for=1h", "say what to graph"),
        ("graph up for=", "`for=` needs a value"),
        ("graph up for=1h for=2h", "`for=` is given twice"),
        ("graph up for=soon", "not a duration"),
        ("graph up step=0s", "`step=` must be longer than 0s"),
        ("graph " + "x" * 2001, "at most 2000"),
    ],
)
def test_graph_mistakes(text, says):
    assert says in bad(text).text


@pytest.mark.parametrize(
    ("text", "guess"),
    [
        ("lsit traces", "list traces"),
        ("list trace", "list traces"),
        ("show tarce abc", "show trace"),
        ("deployed versions", "deployed version"),
        ("silense a=b for=1h", "silence"),
        ("hlep", "help"),
        ("alert", "alerts"),
    ],
)
def test_unknown_commands_get_the_closest_command_and_a_pointer_to_help(text, guess):
    err = bad(text)
    assert f"Did you mean `{guess}`?" in err.text
    assert "`help`" in err.text


def test_an_ambiguous_first_word_lists_the_choices():
    err = bad("show")
    assert "`show trace`, `show logs`, `show sampling`" in err.text


def test_nonsense_gets_a_pointer_to_help():
    err = bad("make me a sandwich")
    assert "I don't know `make me a`" in err.text
    assert "Say `help`" in err.text


def test_the_bots_own_mention_and_case_are_ignored():
    assert ok("<@U0BOT> Deployed   VERSION").command.name == "version.get"


def test_every_example_in_the_table_parses():
    for spec in SPECS:
        for example in spec.examples:
            parsed = parse(example, now=NOW)
            assert not isinstance(parsed, UsageError), (example, parsed)


def test_a_huge_message_is_refused_politely():
    assert "too long" in bad("list traces " + "x" * 10_000).text


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=300))
def test_any_text_gives_a_request_or_a_usage_error(text):
    parsed = parse(text, now=NOW)
    assert isinstance(parsed, Request | HelpRequest | UsageError)
    if isinstance(parsed, UsageError):
        assert len(parsed.text) < 1000


_pieces = st.sampled_from(
    [spec.phrase for spec in SPECS]
    + [
        "limit=",
        "since=",
        "start=",
        "end=",
        "tags=[",
        "]",
        "[",
        "for=",
        "=~",
        "!=",
        "<",
        ">",
        "|",
        "<@U1>",
        "<http://x/trace/",
        "float",
        "&lt;",
        "\x00",
        "\n",
        "\u202e",
        "ℌ",
        "💥",
        '"',
        "99999999999999999999",
    ]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(_pieces, st.text(max_size=12)), max_size=12).map(" ".join))
def test_command_shaped_junk_gives_a_request_or_a_usage_error(text):
    parsed = parse(text, now=NOW)
    assert isinstance(parsed, Request | HelpRequest | UsageError)
    if isinstance(parsed, UsageError):
        assert parsed.problem.strip()
        assert len(parsed.text) < 1000  # a short answer, never the input echoed back whole


@settings(max_examples=100, deadline=None)
@given(
    st.sampled_from(["", "list traces ", "silence ", "show trace "]),
    st.text(min_size=1, max_size=40),
    st.integers(min_value=1, max_value=3000),
)
def test_huge_text_gives_a_request_or_a_usage_error(prefix, chunk, times):
    text = prefix + chunk * times
    parsed = parse(text, now=NOW)
    assert isinstance(parsed, Request | HelpRequest | UsageError)
    if len(text) > 4000:
        assert isinstance(parsed, UsageError)
    if isinstance(parsed, UsageError):
        assert len(parsed.text) < 1000
