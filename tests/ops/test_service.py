"""The micro service over a real nats-server: discovery, encodings, errors, admins, audit, metrics."""

from __future__ import annotations

import asyncio
import json
import urllib.request

from nats.aio.client import Client

from chatops.bus import Caller, refuse
from chatops.contract import OPS, command, served_by
from chatops.identity import Roster
from chatops.subjects import QUEUE_GROUP, SERVICE_NAME
from chatops.v1 import (
    alerts_pb2,
    audit_pb2,
    cards_pb2,
    deadletters_pb2,
    graphs_pb2,
    sampling_pb2,
    traces_pb2,
    version_pb2,
)
from tests.ops.conftest import OpsUnderTest, StartOps, ask, error_of, reply_of
from tools.harness.servers import NatsServer

COMMANDS = served_by(OPS)  # the deploy commands are the deployer's


async def test_srv_info_lists_every_endpoint_in_queue_group(ops: OpsUnderTest, tools: Client) -> None:
    msg = await tools.request(f"$SRV.INFO.{SERVICE_NAME}", b"", timeout=10)
    info = json.loads(msg.data)
    assert info["name"] == SERVICE_NAME
    subjects = {e["subject"] for e in info["endpoints"]}
    assert subjects == {c.subject for c in COMMANDS}
    assert {e["queue_group"] for e in info["endpoints"]} == {QUEUE_GROUP}
    assert {e["metadata"]["command"] for e in info["endpoints"]} == {c.name for c in COMMANDS}


async def test_plain_json_request_without_project_code(ops: OpsUnderTest, tools: Client) -> None:
    """A tool in any language: plain JSON, as the read-only identity; its actor claim is not taken."""
    msg = await tools.request(
        "chatops.cmd.audit.list",
        b'{"limit": 5}',
        timeout=30,
        headers={"Content-Type": "application/json", "Chatops-Actor": "shell:me"},
    )
    assert "Nats-Service-Error-Code" not in (msg.headers or {})
    assert (msg.headers or {}).get("Content-Type") == "application/json"
    assert json.loads(msg.data) == {} or "events" in json.loads(msg.data)
    # A second plain request sees the first one in the log.
    msg = await tools.request(
        "chatops.cmd.audit.list", b"{}", timeout=30, headers={"Content-Type": "application/json"}
    )
    events = json.loads(msg.data)["events"]
    assert (events[0]["actor"], events[0]["claimed_actor"], events[0]["sender"]) == (
        "nats:tools",
        "shell:me",
        "tools",
    )
    assert events[0]["command"] == "audit.list"
    assert json.loads(events[0]["arguments"]) == {"limit": 5}


async def test_every_endpoint_answers_in_protobuf_and_json(ops: OpsUnderTest, nc: Client) -> None:
    """With no backend reachable, each command still answers: a reply or a coded error, never silence."""
    requests = {
        "traces.list": traces_pb2.ListTracesRequest(),
        "traces.show": traces_pb2.ShowTraceRequest(trace_id="0" * 31 + "1"),
        "traces.logs": traces_pb2.ShowLogsRequest(trace_id="0" * 16),
        "sampling.get": sampling_pb2.GetSamplingRequest(),
        "sampling.set": sampling_pb2.SetSamplingRequest(
            sampler=sampling_pb2.Sampler(type=sampling_pb2.SAMPLER_TYPE_ALWAYS)
        ),
        "version.get": version_pb2.GetVersionRequest(),
        "alerts.list": alerts_pb2.ListAlertsRequest(),
        "silences.create": alerts_pb2.CreateSilenceRequest(
            matchers=[alerts_pb2.Matcher(name="alertname", value="X", is_equal=True)]
        ),
        "alerts.ack": cards_pb2.AckAlertRequest(alert="3fa2c1d0"),
        "alerts.unack": cards_pb2.AckAlertRequest(alert="PetstoreErrorRatioHigh"),
        "timeline.show": cards_pb2.TimelineRequest(),
        "audit.list": audit_pb2.ListAuditRequest(),
        "graph.render": graphs_pb2.RenderGraphRequest(query="up"),
        "deadletters.list": deadletters_pb2.ListDeadLettersRequest(),
        "deadletters.replay": deadletters_pb2.ReplayDeadLettersRequest(all=True),
    }
    assert set(requests) == {c.name for c in COMMANDS}
    expected = {
        "traces.list": 0,
        "traces.show": 404,
        "traces.logs": 404,
        "sampling.get": 502,
        "sampling.set": 502,
        "version.get": 502,
        "alerts.list": 502,
        "silences.create": 502,
        "alerts.ack": 404,  # no card has that ref
        "alerts.unack": 404,
        "timeline.show": 0,
        "audit.list": 0,
        "graph.render": 502,
        "deadletters.list": 0,
        "deadletters.replay": 0,
    }
    for as_json in (False, True):
        for name, request in requests.items():
            msg = await ask(nc, name, request, as_json=as_json)
            code, text = error_of(msg)
            assert code == expected[name], f"{name} json={as_json}: {code} {text}"
            if code == 0:
                reply_of(msg, name, as_json=as_json)
            if code == 502:
                backend = {
                    "sampling": "petstore",
                    "version": "Prometheus",
                    "alerts": "Prometheus",
                    "silences": "Alertmanager",
                    "graph": "Prometheus",
                }[name.split(".")[0]]
                assert backend in text


async def test_bad_requests_say_what_is_allowed(ops: OpsUnderTest, nc: Client) -> None:
    cases = [
        ("traces.list", traces_pb2.ListTracesRequest(limit=0), "limit must be 1 to 100"),
        ("traces.list", traces_pb2.ListTracesRequest(limit=1000), "limit must be 1 to 100"),
        ("traces.list", traces_pb2.ListTracesRequest(limit=-1), "limit must be 1 to 100"),
        ("traces.list", traces_pb2.ListTracesRequest(tags=["nonsense"]), "key=value"),
        ("traces.show", traces_pb2.ShowTraceRequest(trace_id="xyz"), "16 or 32 hex digits"),
        ("traces.logs", traces_pb2.ShowLogsRequest(trace_id="abc"), "16 or 32 hex digits"),
        (
            "sampling.set",
            sampling_pb2.SetSamplingRequest(
                sampler=sampling_pb2.Sampler(type=sampling_pb2.SAMPLER_TYPE_FLOAT, rate=2)
            ),
            "(0, 1]",
        ),
        ("sampling.set", sampling_pb2.SetSamplingRequest(), "never, always, or float"),
        ("alerts.list", alerts_pb2.ListAlertsRequest(labels=["sev=~[unclosed"]), "bad regular expression"),
        ("alerts.list", alerts_pb2.ListAlertsRequest(labels=["a b c"]), "key=value"),
        ("silences.create", alerts_pb2.CreateSilenceRequest(), "at least one matcher"),
        ("audit.list", audit_pb2.ListAuditRequest(limit=0), "limit must be 1 to 100"),
        ("audit.list", audit_pb2.ListAuditRequest(limit=1000), "limit must be 1 to 100"),
        ("audit.list", audit_pb2.ListAuditRequest(command="nope"), "sampling.set"),
    ]
    for name, request, hint in cases:
        code, text = error_of(await ask(nc, name, request))
        assert code == 400, f"{name}: {code} {text}"
        assert hint in text, f"{name}: {text!r} lacks {hint!r}"


async def test_garbage_bodies_are_400(ops: OpsUnderTest, nc: Client) -> None:
    msg = await nc.request(
        "chatops.cmd.version.get", b"{not json", timeout=30, headers={"Content-Type": "application/json"}
    )
    code, text = error_of(msg)
    assert code == 400 and "not valid JSON" in text
    msg = await nc.request(
        "chatops.cmd.version.get", b'{"jobb": 1}', timeout=30, headers={"Content-Type": "application/json"}
    )
    code, text = error_of(msg)
    assert code == 400 and "GetVersionRequest" in text
    msg = await nc.request("chatops.cmd.version.get", b"\xff\xff\xff", timeout=30)
    assert error_of(msg)[0] == 400


async def test_admins_only_for_commands_that_change(start_ops: StartOps, nc: Client) -> None:
    await start_ops(CHATOPS_ADMINS=("U0BOSS", "slack:U0OTHER"))
    request = sampling_pb2.SetSamplingRequest(
        sampler=sampling_pb2.Sampler(type=sampling_pb2.SAMPLER_TYPE_NEVER)
    )
    code, text = error_of(await ask(nc, "sampling.set", request, headers={"Chatops-Actor": "slack:U0NOBODY"}))
    assert code == 403
    assert "only admins can run sampling.set" in text and "U0BOSS" in text
    code, _ = error_of(
        await ask(
            nc,
            "silences.create",
            alerts_pb2.CreateSilenceRequest(
                matchers=[alerts_pb2.Matcher(name="a", value="b", is_equal=True)]
            ),
            headers={},
        )
    )
    assert code == 403  # no actor header: anonymous is never an admin
    # Admins by id or by full actor get past the check (and then meet the unreachable petstore).
    for actor in ("slack:U0BOSS", "slack:U0OTHER"):
        code, text = error_of(await ask(nc, "sampling.set", request, headers={"Chatops-Actor": actor}))
        assert code == 502 and "petstore" in text
    # Reading commands are open to everyone.
    assert error_of(await ask(nc, "audit.list", audit_pb2.ListAuditRequest(), headers={}))[0] == 0
    log = reply_of(
        await ask(nc, "audit.list", audit_pb2.ListAuditRequest(command="sampling.set")), "audit.list"
    )
    refused = [e for e in log.events if e.actor == "slack:U0NOBODY"]
    assert len(refused) == 1 and refused[0].error_code == 403 and refused[0].outcome == "error"


async def test_no_admins_configured_refuses_changes_and_audits_it(start_ops: StartOps, nc: Client) -> None:
    await start_ops(CHATOPS_ADMINS=())
    request = sampling_pb2.SetSamplingRequest(
        sampler=sampling_pb2.Sampler(type=sampling_pb2.SAMPLER_TYPE_ALWAYS)
    )
    code, text = error_of(await ask(nc, "sampling.set", request, headers={"Chatops-Actor": "slack:U0ANYONE"}))
    assert code == 403
    assert "no admins are configured" in text and "set CHATOPS_ADMINS" in text
    # Reading commands still work for everyone.
    assert error_of(await ask(nc, "audit.list", audit_pb2.ListAuditRequest(), headers={}))[0] == 0
    log = reply_of(
        await ask(nc, "audit.list", audit_pb2.ListAuditRequest(command="sampling.set")), "audit.list"
    )
    refused = [e for e in log.events if e.actor == "slack:U0ANYONE"]
    assert len(refused) == 1 and refused[0].error_code == 403 and refused[0].outcome == "error"
    assert "no admins are configured" in refused[0].error


async def test_each_command_leaves_exactly_one_audit_event(
    ops: OpsUnderTest, nc: Client, admin: Client
) -> None:
    tp_trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    headers = {
        "Chatops-Actor": "slack:U024BE7LH",
        "Chatops-Actor-Name": "Ada",
        "Chatops-Channel": "C1",
        "Chatops-Source": "slack",
        "Chatops-Request-Id": "r-42",
        "traceparent": f"00-{tp_trace}-00f067aa0ba902b7-01",
    }
    await ask(nc, "traces.show", traces_pb2.ShowTraceRequest(trace_id="ab" * 8), headers=headers)
    await ask(nc, "version.get", version_pb2.GetVersionRequest(job="web"), headers=headers)
    info = await admin.jetstream().stream_info("CHATOPS_AUDIT")
    assert info.state.messages == 2
    log = reply_of(
        await ask(nc, "audit.list", audit_pb2.ListAuditRequest(actor="slack:U024BE7LH")), "audit.list"
    )
    assert [e.command for e in log.events] == ["version.get", "traces.show"]
    newest = log.events[0]
    assert (newest.actor_name, newest.channel, newest.source, newest.request_id) == (
        "Ada",
        "C1",
        "slack",
        "r-42",
    )
    assert newest.outcome == "error" and newest.error_code == 502 and "Prometheus" in newest.error
    assert newest.trace_id == tp_trace  # the command's span continues the caller's trace
    assert json.loads(newest.arguments) == {"job": "web"}
    assert newest.duration.ToNanoseconds() > 0 and newest.sequence == 2
    assert log.events[1].error_code == 404
    # audit.list itself was audited too: exactly one more event.
    assert (await admin.jetstream().stream_info("CHATOPS_AUDIT")).state.messages == 3
    by_noun = reply_of(
        await ask(nc, "audit.list", audit_pb2.ListAuditRequest(command="traces")), "audit.list"
    )
    assert [e.command for e in by_noun.events] == ["traces.show"]


async def test_metrics_count_commands_and_backend_errors(ops: OpsUnderTest, nc: Client) -> None:
    await ask(nc, "version.get", version_pb2.GetVersionRequest())
    await ask(nc, "audit.list", audit_pb2.ListAuditRequest())
    url = f"http://{ops.settings.OPS_METRICS_LISTEN}/metrics"
    text = (await asyncio.to_thread(lambda: urllib.request.urlopen(url, timeout=10).read())).decode()
    assert 'chatops_ops_commands_total{command="audit.list",outcome="ok"} 1.0' in text
    assert 'chatops_ops_commands_total{command="version.get",outcome="502"} 1.0' in text
    assert 'chatops_ops_backend_errors_total{backend="Prometheus",code="502"} 1.0' in text
    assert 'chatops_ops_command_seconds_count{command="version.get"} 1.0' in text
    health = f"http://{ops.settings.OPS_METRICS_LISTEN}/healthz"
    assert (await asyncio.to_thread(lambda: urllib.request.urlopen(health, timeout=10).read())) == b"ok\n"


async def test_an_explicit_zero_limit_in_json_is_refused_and_a_missing_one_is_the_default(
    ops: OpsUnderTest, nc: Client
) -> None:
    json_headers = {"Content-Type": "application/json"}
    zero = await nc.request("chatops.cmd.traces.list", b'{"limit": 0}', timeout=30, headers=json_headers)
    assert zero.headers is not None and zero.headers.get("Nats-Service-Error-Code") == "400"
    assert "limit must be 1 to 100" in zero.headers.get("Nats-Service-Error", "")
    unset = await nc.request("chatops.cmd.traces.list", b"{}", timeout=30, headers=json_headers)
    assert unset.headers is None or "Nats-Service-Error-Code" not in unset.headers
    assert set(json.loads(unset.data or b"{}")) <= {"traces"}  # a ListTracesReply, maybe empty


async def test_a_read_only_tool_cannot_act_as_an_admin_and_the_attempt_is_audited(
    start_ops: StartOps, secure_nats: NatsServer, nc: Client, tools: Client
) -> None:
    await start_ops(CHATOPS_ADMINS=("U0ADMIN",))
    assert secure_nats.files is not None
    gateway_key = next(m.nkey for m in Roster.load(secure_nats.files.roster).members if m.name == "gateway")
    # Both the actor and the server's own header are forged; the server replaces the latter.
    forged = {
        "Chatops-Actor": "slack:U0ADMIN",
        "Nats-Request-Info": json.dumps({"acc": "CHATOPS", "user": gateway_key}),
        "Chatops-Request-Id": "forged",
    }
    changes = {
        "sampling.set": sampling_pb2.SetSamplingRequest(
            sampler=sampling_pb2.Sampler(type=sampling_pb2.SAMPLER_TYPE_ALWAYS)
        ),
        "silences.create": alerts_pb2.CreateSilenceRequest(
            matchers=[alerts_pb2.Matcher(name="severity", value="critical", is_equal=True)]
        ),
    }
    for name, request in changes.items():
        code, text = error_of(await ask(tools, name, request, headers=forged))
        assert (code, text) == (403, "this identity may only send commands that change nothing"), name
    # The read-only commands are answered (the backends are down here: that is an answer too).
    for name, request in (
        ("version.get", version_pb2.GetVersionRequest()),
        ("alerts.list", alerts_pb2.ListAlertsRequest()),
    ):
        code, text = error_of(await ask(tools, name, request, headers=forged))
        assert code == 502 and ("Prometheus" in text or "Alertmanager" in text), (name, code, text)
    log = reply_of(await ask(nc, "audit.list", audit_pb2.ListAuditRequest(actor="nats:tools")), "audit.list")
    attempts = {e.command: e for e in log.events if e.error_code == 403}
    assert set(attempts) == set(changes)
    for event in attempts.values():
        assert (event.actor, event.claimed_actor, event.sender) == ("nats:tools", "slack:U0ADMIN", "tools")
        assert event.outcome == "error" and event.request_id == "forged"
    # Nobody else claims slack: either: the console speaks for console:, and console:U0ADMIN is not
    # the Slack admin U0ADMIN (admins are compared in full).
    console = await secure_nats.connect("console")
    try:
        for actor, acting_as in (("slack:U0ADMIN", "nats:console"), ("console:U0ADMIN", "console:U0ADMIN")):
            msg = await ask(
                console, "sampling.set", changes["sampling.set"], headers={"Chatops-Actor": actor}
            )
            code, text = error_of(msg)
            assert code == 403 and "only admins can run sampling.set" in text, actor
            log = reply_of(await ask(nc, "audit.list", audit_pb2.ListAuditRequest(limit=1)), "audit.list")
            assert log.events[0].actor == acting_as
    finally:
        await console.close()
    # The gateway may speak for the Slack admin: past the admin check, it meets the petstore (down).
    code, text = error_of(
        await ask(nc, "sampling.set", changes["sampling.set"], headers={"Chatops-Actor": "slack:U0ADMIN"})
    )
    assert code == 502 and "petstore" in text


async def test_a_front_end_refusal_is_recorded_by_ops_and_runs_nothing(
    start_ops: StartOps, nc: Client
) -> None:
    await start_ops(CHATOPS_ADMINS=("U0ADMIN",))
    request = sampling_pb2.SetSamplingRequest(
        sampler=sampling_pb2.Sampler(type=sampling_pb2.SAMPLER_TYPE_ALWAYS)
    )
    caller = Caller(actor="slack:U0ADMIN", actor_name="ada", channel="C1", source="slack")
    # Even an admin's command is only recorded when the front end says it refused it.
    await refuse(nc, command("sampling.set"), request, caller, "the channel is not allowed")
    log = reply_of(await ask(nc, "audit.list", audit_pb2.ListAuditRequest(limit=1)), "audit.list")
    event = log.events[0]
    assert (event.command, event.actor, event.error_code, event.error) == (
        "sampling.set",
        "slack:U0ADMIN",
        403,
        "the channel is not allowed",
    )
    assert (
        event.request_id == caller.request_id
        and json.loads(event.arguments)["sampler"]["type"] == "SAMPLER_TYPE_ALWAYS"
    )
