"""Pure parts: ids, tags, label filters, sampler checks, grouping, ordering, admins, OTLP parsing."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatops.v1 import alerts_pb2, audit_pb2, sampling_pb2, traces_pb2
from ops.alertfilter import parse_filter, parse_filters
from ops.backends.prometheus import PromAlert, Sample
from ops.context import CallContext, require_admin
from ops.errors import OpsError
from ops.handlers.alerts import select
from ops.handlers.audit import build_filter
from ops.handlers.sampling import to_setting
from ops.handlers.silences import duration_seconds, matchers
from ops.handlers.traces import build_query, logs, show
from ops.handlers.version import group_versions, promql
from ops.otlp import spans_from_json
from ops.spans import Trace, normalize_trace_id, parse_tags
from tests.conftest import FIXTURES

HEX = "0123456789abcdefABCDEF"


@given(st.text(alphabet=HEX, min_size=16, max_size=16) | st.text(alphabet=HEX, min_size=32, max_size=32))
def test_valid_trace_ids_normalise_to_32_lowercase(raw: str) -> None:
    out = normalize_trace_id(raw)
    assert len(out) == 32 and out == out.lower() and out.endswith(raw.lower())


@given(
    st.text(max_size=40).filter(
        lambda s: not (len(s.strip()) in (16, 32) and all(c in HEX for c in s.strip()))
    )
)
def test_anything_else_is_400(raw: str) -> None:
    with pytest.raises(OpsError) as err:
        normalize_trace_id(raw)
    assert err.value.code == 400 and "16 or 32 hex digits" in err.value.text


def test_tags() -> None:
    assert parse_tags(["rpc.method=AddPets", "error", " http.status_code = 500 "]) == (
        (("rpc.method", "AddPets"), ("http.status_code", "500")),
        True,
    )
    for bad in ("nope", "=x", "a b=c"):
        with pytest.raises(OpsError):
            parse_tags([bad])


def test_list_defaults() -> None:
    now = 10**18
    q = build_query(traces_pb2.ListTracesRequest(), "petstore", now)
    assert (q.service, q.limit, q.end_ns, q.end_ns - q.start_ns) == ("petstore", 20, now, 3600 * 10**9)
    with pytest.raises(OpsError):
        build_query(traces_pb2.ListTracesRequest(limit=101), "petstore", now)


def test_label_filters() -> None:
    labels = {"alertname": "HighLatency", "severity": "page"}
    assert parse_filter("severity").matches(labels)
    assert not parse_filter("team").matches(labels)
    assert parse_filter("severity=page").matches(labels)
    assert parse_filter('severity="page"').matches(labels)
    assert parse_filter("severity!=ticket").matches(labels)
    assert parse_filter("alertname=~High.*").matches(labels)
    assert not parse_filter("alertname=~High").matches(labels)  # anchored, as in PromQL
    assert parse_filter("alertname!~Low.*").matches(labels)
    for bad in ("sev=~(", "a-b=c", "=x", ""):
        with pytest.raises(OpsError) as err:
            parse_filter(bad)
        assert err.value.code == 400
    assert parse_filters(["", " "]) == ()


def test_label_filter_regexes_are_re2() -> None:
    # The pattern that pinned ops with Python's re: RE2 answers it, on a long label too.
    hostile = parse_filter("alertname=~(.*.*.*.*.*)*!")
    assert not hostile.matches({"alertname": "PetstoreErrorRatioHigh" * 200})
    with pytest.raises(OpsError) as err:
        parse_filter(r"alertname=~(a)\1")
    assert err.value.code == 400 and "bad regular expression" in err.value.text
    with pytest.raises(OpsError) as err:
        matchers(
            alerts_pb2.CreateSilenceRequest(
                matchers=[alerts_pb2.Matcher(name="alertname", value="(?=x)", is_regex=True, is_equal=True)]
            )
        )
    assert err.value.code == 400 and "bad regular expression" in err.value.text


def test_alert_ordering_and_since() -> None:
    alerts = [
        PromAlert((("alertname", "P"),), (), "pending", "2024-01-01T00:00:00Z", "1"),
        PromAlert((("alertname", "B"),), (), "firing", "2024-01-01T00:05:00.5Z", "1"),
        PromAlert((("alertname", "A"),), (), "firing", "2024-01-01T00:01:00Z", "1"),
    ]
    reply = select(alerts, (), 0, 0)
    assert [a.name for a in reply.alerts] == ["A", "B", "P"]
    since = 1704067260 * 10**9  # 00:01:00
    assert [a.name for a in select(alerts, (), 0, since).alerts] == ["A", "B"]
    assert [a.name for a in select(alerts, (), alerts_pb2.ALERT_STATE_PENDING, 0).alerts] == ["P"]


def test_sampler_checks() -> None:
    ok = to_setting(sampling_pb2.Sampler(type=sampling_pb2.SAMPLER_TYPE_FLOAT, rate=1.0))
    assert (ok.kind, ok.rate) == ("float", 1.0)
    assert to_setting(sampling_pb2.Sampler(type=sampling_pb2.SAMPLER_TYPE_NEVER)).kind == "never"
    for rate in (0.0, -0.1, 2.0, float("nan"), float("inf")):
        with pytest.raises(OpsError) as err:
            to_setting(sampling_pb2.Sampler(type=sampling_pb2.SAMPLER_TYPE_FLOAT, rate=rate))
        assert err.value.code == 400
    with pytest.raises(OpsError):
        to_setting(sampling_pb2.Sampler())


def test_versions_grouped_most_instances_first() -> None:
    samples = [Sample((("instance", f"h{i}"), ("version", "1.0" if i < 3 else "2.0")), "1") for i in range(4)]
    reply = group_versions(samples)
    assert [(v.version, v.instances) for v in reply.versions] == [("1.0", 3), ("2.0", 1)]
    assert list(reply.versions[1].instance_names) == ["h3"]
    assert promql("petstore") == 'petstore_build_info{job="petstore"}'
    with pytest.raises(OpsError):
        promql('x"} or vector(1) #')


def test_silence_checks() -> None:
    req = alerts_pb2.CreateSilenceRequest(
        matchers=[alerts_pb2.Matcher(name="alertname", value="X", is_equal=True)]
    )
    assert duration_seconds(req) == 3600  # no duration given: an hour
    req.duration.FromSeconds(59)
    with pytest.raises(OpsError):
        duration_seconds(req)
    req.duration.FromSeconds(30 * 86400)
    assert duration_seconds(req) == 30 * 86400
    assert matchers(req)[0].name == "alertname"
    for bad in (
        [alerts_pb2.Matcher(name="a", value="(", is_regex=True, is_equal=True)],
        [alerts_pb2.Matcher(name="bad-name", value="x", is_equal=True)],
        [alerts_pb2.Matcher(name="a", value="x", is_equal=False)],
        [alerts_pb2.Matcher(name="a", value=".*", is_regex=True, is_equal=True)],
    ):
        with pytest.raises(OpsError):
            matchers(alerts_pb2.CreateSilenceRequest(matchers=bad))


def test_audit_filter() -> None:
    assert build_filter(audit_pb2.ListAuditRequest()).limit == 20
    assert build_filter(audit_pb2.ListAuditRequest(command="sampling")).subject == "chatops.audit.sampling.>"
    assert (
        build_filter(audit_pb2.ListAuditRequest(command="sampling.set")).subject
        == "chatops.audit.sampling.set"
    )
    assert build_filter(audit_pb2.ListAuditRequest()).subject == "chatops.audit.>"
    with pytest.raises(OpsError):
        build_filter(audit_pb2.ListAuditRequest(command="rm -rf"))


def test_admins() -> None:
    boss = CallContext(actor="slack:U1", verified=True)
    for admins in (("U1",), ("slack:U1",)):
        require_admin("sampling.set", boss, admins)  # a bare Slack id stands for slack:U1
    with pytest.raises(OpsError) as err:
        # The same actor, but nothing on the bus said who sent it: never an admin.
        require_admin("sampling.set", CallContext.from_headers({"Chatops-Actor": "slack:U1"}), ("U1",))
    assert err.value.code == 403 and "the bus did not say who sent it" in err.value.text
    with pytest.raises(OpsError):
        require_admin("sampling.set", CallContext(actor="console:U1", verified=True), ("U1",))
    with pytest.raises(OpsError) as err:
        require_admin("sampling.set", CallContext(actor="slack:U2", verified=True), ("U1", "U3"))
    assert err.value.code == 403 and err.value.text == "only admins can run sampling.set: U1, U3"
    with pytest.raises(OpsError) as err:
        require_admin("silences.create", boss, ())
    assert err.value.code == 403
    assert err.value.text == "no admins are configured, so nobody can run silences.create: set CHATOPS_ADMINS"


def test_fixture_trace_summaries() -> None:
    spans = spans_from_json(json.loads((FIXTURES / "jaeger" / "otlp-traces-in.json").read_text()))
    trace = Trace.of(spans[0].trace_id, spans)
    shown = show(trace, "u")
    assert list(shown.operations) == ["okey-dokey-0"] and list(shown.attribute_keys) == [
        "net.peer.ip",
        "peer.service",
    ]
    assert shown.longest_span.ToNanoseconds() == 123000 and list(shown.errors) == []
    assert list(logs(trace).logs) == []
