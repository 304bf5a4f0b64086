"""Commands against the real backends: petstore (gRPC), Prometheus scraping it, Alertmanager."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

import grpc
import pytest
from nats.aio.client import Client

from chatops.v1 import alerts_pb2, audit_pb2, sampling_pb2, traces_pb2, version_pb2
from petstore.v1 import petstore_pb2 as pb
from petstore.v1 import petstore_pb2_grpc as pb_grpc
from tests.ops.conftest import StartOps, ask, error_of, reply_of
from tools.harness.petstore import Petstore
from tools.harness.ports import LOOPBACK, free_port
from tools.harness.servers import Alertmanager, Prometheus, Silent, running
from tools.harness.wait import eventually

T = TypeVar("T")

RULES: list[dict[str, object]] = [
    {
        "alert": "PetstoreUp",
        "expr": "petstore_build_info == 1",
        "labels": {"severity": "page"},
        "annotations": {"summary": "petstore {{ $labels.instance }} is up"},
    },
    {"alert": "SlowBurn", "expr": "vector(1)", "for": "1h", "labels": {"severity": "ticket"}},
]


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.loads(resp.read())


@pytest.fixture
def two_petstores(tmp_path: Path) -> Iterator[tuple[Petstore, Petstore]]:
    """Version 1.0.0 on one instance and 2.0.0 on another: a rollout half done."""
    old = Petstore(tmp_path / "ps-old", version="1.0.0").start()
    try:
        new = Petstore(tmp_path / "ps-new", version="2.0.0").start()
        try:
            yield old, new
        finally:
            new.stop()
    finally:
        old.stop()


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[Alertmanager]:
    with running(Alertmanager(tmp_path / "am")) as am:
        yield am


@pytest.fixture
def prometheus(
    tmp_path: Path, two_petstores: tuple[Petstore, Petstore], alertmanager: Alertmanager
) -> Iterator[Prometheus]:
    targets = {"petstore": [p.metrics_target for p in two_petstores]}
    with running(
        Prometheus(tmp_path / "prom", scrape_targets=targets, rules=RULES, alertmanager_url=alertmanager.url)
    ) as prom:
        yield prom


async def test_version_alerts_and_silences(
    start_ops: StartOps,
    nc: Client,
    prometheus: Prometheus,
    alertmanager: Alertmanager,
    two_petstores: tuple[Petstore, Petstore],
) -> None:
    await start_ops(
        PROMETHEUS_URL=prometheus.url, ALERTMANAGER_URL=alertmanager.url, CHATOPS_ADMINS=("U024BE7LH",)
    )

    async def both_versions() -> version_pb2.GetVersionReply | None:
        reply = reply_of(await ask(nc, "version.get", version_pb2.GetVersionRequest()), "version.get")
        return reply if len(reply.versions) == 2 else None

    versions = await eventually(both_versions, what="two versions in Prometheus", timeout=60)
    by_version = {v.version: v for v in versions.versions}
    assert set(by_version) == {"1.0.0", "2.0.0"}
    assert all(v.instances == 1 for v in versions.versions)
    assert list(by_version["2.0.0"].instance_names) == [two_petstores[1].metrics_target]
    other = reply_of(
        await ask(nc, "version.get", version_pb2.GetVersionRequest(job="nope"), as_json=True),
        "version.get",
        as_json=True,
    )
    assert list(other.versions) == []

    async def firing() -> alerts_pb2.ListAlertsReply | None:
        reply = reply_of(
            await ask(
                nc,
                "alerts.list",
                alerts_pb2.ListAlertsRequest(
                    labels=["severity=page", "alertname=~Petstore.*"], state=alerts_pb2.ALERT_STATE_FIRING
                ),
            ),
            "alerts.list",
        )
        return reply if len(reply.alerts) == 2 else None

    fired = await eventually(firing, what="PetstoreUp firing for both instances", timeout=60)
    alert = fired.alerts[0]
    assert alert.name == "PetstoreUp" and alert.state == alerts_pb2.ALERT_STATE_FIRING
    assert alert.annotations["summary"].startswith("petstore 127.0.0.1:") and alert.value == "1e+00"
    everything = reply_of(await ask(nc, "alerts.list", alerts_pb2.ListAlertsRequest()), "alerts.list")
    states = [(a.name, a.state) for a in everything.alerts]
    assert states[-1] == ("SlowBurn", alerts_pb2.ALERT_STATE_PENDING)  # firing first, then pending
    pending = reply_of(
        await ask(
            nc,
            "alerts.list",
            alerts_pb2.ListAlertsRequest(labels=["severity", "alertname!=PetstoreUp"]),
            as_json=True,
        ),
        "alerts.list",
        as_json=True,
    )
    assert [a.name for a in pending.alerts] == ["SlowBurn"]
    future = alerts_pb2.ListAlertsRequest()
    future.active_since.FromSeconds(int(time.time()) + 3600)
    assert list(reply_of(await ask(nc, "alerts.list", future), "alerts.list").alerts) == []

    request = alerts_pb2.CreateSilenceRequest(
        matchers=[alerts_pb2.Matcher(name="alertname", value="PetstoreUp", is_equal=True)],
        comment="rolling out 2.0.0",
    )
    request.duration.FromSeconds(2 * 3600)
    headers = {"Chatops-Actor": "slack:U024BE7LH", "Chatops-Actor-Name": "ada"}
    created = reply_of(await ask(nc, "silences.create", request, headers=headers), "silences.create")
    assert created.created_by == "ada"
    assert created.url == f"{alertmanager.url}/#/silences/{created.silence_id}"
    assert created.ends_at.ToSeconds() - created.starts_at.ToSeconds() == 2 * 3600
    silences = await asyncio.to_thread(_get_json, f"{alertmanager.url}/api/v2/silences")
    mine = [s for s in silences if s["id"] == created.silence_id]
    assert len(mine) == 1
    assert mine[0]["createdBy"] == "ada" and mine[0]["comment"] == "rolling out 2.0.0"
    assert mine[0]["matchers"][0]["name"] == "alertname" and mine[0]["status"]["state"] == "active"

    request.duration.FromSeconds(31 * 86400)
    code, text = error_of(await ask(nc, "silences.create", request, headers=headers))
    assert code == 400 and "1m to 30d" in text


async def test_prometheus_down_names_prometheus_then_recovers(
    start_ops: StartOps, nc: Client, prometheus: Prometheus
) -> None:
    await start_ops(PROMETHEUS_URL=prometheus.url, OPS_BACKEND_TIMEOUT=2.0)

    async def answered() -> version_pb2.GetVersionReply | None:
        reply = reply_of(await ask(nc, "version.get", version_pb2.GetVersionRequest()), "version.get")
        return reply if reply.versions else None

    await eventually(answered, what="versions before the outage", timeout=60)
    prometheus.stop()
    code, text = error_of(await ask(nc, "version.get", version_pb2.GetVersionRequest()))
    assert code in (502, 504) and "Prometheus" in text
    code, text = error_of(await ask(nc, "alerts.list", alerts_pb2.ListAlertsRequest()))
    assert code in (502, 504) and "Prometheus" in text
    # Ops itself is fine meanwhile.
    assert error_of(await ask(nc, "audit.list", audit_pb2.ListAuditRequest()))[0] == 0
    prometheus.start()
    await eventually(answered, what="versions after Prometheus is back", timeout=60)


async def test_silent_backend_times_out_with_504(start_ops: StartOps, nc: Client) -> None:
    """A backend that accepts connections but never answers: 504 naming it, within the configured time."""
    with running(Silent()) as silent:
        await start_ops(PROMETHEUS_URL=silent.url, ALERTMANAGER_URL=silent.url, OPS_BACKEND_TIMEOUT=1.0)
        code, text = error_of(await ask(nc, "version.get", version_pb2.GetVersionRequest()))
        assert (code, text) == (504, "Prometheus did not answer within 1s")
        silence = alerts_pb2.CreateSilenceRequest(
            matchers=[alerts_pb2.Matcher(name="alertname", value="X", is_equal=True)]
        )
        code, text = error_of(await ask(nc, "silences.create", silence))
        assert (code, text) == (504, "Alertmanager did not answer within 1s")


def _add_pet(addr: str, traceparent: str = "") -> None:
    """AddPets over gRPC; with `traceparent`, as part of that (sampled) trace."""
    metadata = [("traceparent", traceparent)] if traceparent else []
    with grpc.insecure_channel(addr) as channel:
        stub = pb_grpc.PetStoreStub(channel)
        stub.AddPets(
            pb.AddPetsRequest(
                pets=[
                    pb.Pet(name="Rex", type=pb.PET_TYPE_CANINE, birthday=pb.Date(year=2020, month=1, day=2))
                ]
            ),
            timeout=10,
            metadata=metadata,
        )


async def test_sampling_changes_what_petstore_samples_and_one_command_is_one_trace(
    tmp_path: Path, start_ops: StartOps, nc: Client
) -> None:
    otlp = f"{LOOPBACK}:{free_port()}"
    store = Petstore(tmp_path / "ps", sampler="never", otlp_endpoint=f"http://{otlp}").start()
    try:
        await start_ops(PETSTORE_ADDR=store.addr, OTLP_LISTEN=otlp)
        got = reply_of(await ask(nc, "sampling.get", sampling_pb2.GetSamplingRequest()), "sampling.get")
        assert got.sampler.type == sampling_pb2.SAMPLER_TYPE_NEVER

        # With the sampler at never, a plain call leaves no trace. The petstore exports its spans in
        # the order they end, so once a later call that its caller sampled has reached ops, the plain
        # call's spans would have too, had there been any.
        await asyncio.to_thread(_add_pet, store.addr)
        marker = "7" * 32
        await asyncio.to_thread(_add_pet, store.addr, f"00-{marker}-{'8' * 16}-01")

        async def exported() -> traces_pb2.ListTracesReply | None:
            reply = reply_of(await ask(nc, "traces.list", traces_pb2.ListTracesRequest()), "traces.list")
            return reply if any(t.trace_id == marker for t in reply.traces) else None

        listed = await eventually(exported, what="the caller-sampled AddPets exported", timeout=60)
        # (ops's own sampled command span makes the petstore trace sampling.get: that is wanted.)
        assert [t.trace_id for t in listed.traces if "AddPets" in t.root_operation] == [marker]

        change = sampling_pb2.SetSamplingRequest(
            sampler=sampling_pb2.Sampler(type=sampling_pb2.SAMPLER_TYPE_FLOAT, rate=1.0)
        )
        changed = reply_of(await ask(nc, "sampling.set", change, as_json=True), "sampling.set", as_json=True)
        assert changed.previous.type == sampling_pb2.SAMPLER_TYPE_NEVER
        assert changed.current.type == sampling_pb2.SAMPLER_TYPE_FLOAT and changed.current.rate == 1.0
        with grpc.insecure_channel(store.addr) as channel:
            direct = pb_grpc.PetStoreStub(channel).GetSampler(pb.GetSamplerRequest(), timeout=10)
        assert direct.sampler.type == pb.SAMPLER_TYPE_FLOAT and direct.sampler.float_value == 1.0

        await asyncio.to_thread(_add_pet, store.addr)

        async def petstore_trace() -> traces_pb2.ListTracesReply | None:
            reply = reply_of(await ask(nc, "traces.list", traces_pb2.ListTracesRequest()), "traces.list")
            own = [t for t in reply.traces if "AddPets" in t.root_operation and t.trace_id != marker]
            return reply if own else None

        listed = await eventually(
            petstore_trace, what="a petstore AddPets trace after sampling.set", timeout=60
        )
        add = next(t for t in listed.traces if "AddPets" in t.root_operation and t.trace_id != marker)
        assert add.service == "petstore" and add.span_count >= 1
        shown = reply_of(
            await ask(nc, "traces.show", traces_pb2.ShowTraceRequest(trace_id=add.trace_id)), "traces.show"
        )
        assert any("AddPets" in op for op in shown.operations) and shown.url.endswith(add.trace_id)
        logs = reply_of(
            await ask(nc, "traces.logs", traces_pb2.ShowLogsRequest(trace_id=add.trace_id), as_json=True),
            "traces.logs",
            as_json=True,
        )
        assert logs.trace_id == add.trace_id
        assert [e.message for e in logs.logs] == ["request validated", "pets added"]  # the petstore's notes
        assert logs.logs[0].attributes["pets"] == "1"
        times = [e.time.ToNanoseconds() for e in logs.logs]
        assert times == sorted(times)

        # A sampled traceparent from the caller: ops's span and the petstore's span share the trace.
        trace_id = "5" * 32
        headers = {"Chatops-Actor": "slack:U1", "traceparent": f"00-{trace_id}-{'6' * 16}-01"}
        await ask(nc, "sampling.get", sampling_pb2.GetSamplingRequest(), headers=headers)

        async def joined() -> traces_pb2.ShowTraceReply | None:
            msg = await ask(nc, "traces.show", traces_pb2.ShowTraceRequest(trace_id=trace_id))
            if error_of(msg)[0]:
                return None
            reply: traces_pb2.ShowTraceReply = reply_of(msg, "traces.show")
            ops_span = "chatops sampling.get" in reply.operations
            pet_span = any("GetSampler" in op and op != "petstore GetSampler" for op in reply.operations)
            return reply if ops_span and pet_span else None

        await eventually(joined, what="ops and petstore spans in one trace", timeout=60)
    finally:
        store.stop()


async def test_petstore_down_is_502_naming_petstore(start_ops: StartOps, nc: Client) -> None:
    await start_ops()  # PETSTORE_ADDR points at a port nothing listens on
    code, text = error_of(await ask(nc, "sampling.get", sampling_pb2.GetSamplingRequest()))
    assert code == 502 and "petstore" in text
    bad = sampling_pb2.SetSamplingRequest(sampler=sampling_pb2.Sampler(type=sampling_pb2.SAMPLER_TYPE_FLOAT))
    code, text = error_of(await ask(nc, "sampling.set", bad))
    assert code == 400 and "(0, 1]" in text  # checked before any call, so not a 502


async def test_sampling_over_several_instances_changes_each(
    start_ops: StartOps, nc: Client, two_petstores: tuple[Petstore, Petstore]
) -> None:
    down = f"{LOOPBACK}:{free_port()}"
    live = ",".join(p.addr for p in two_petstores)
    await start_ops(PETSTORE_ADDR=f"{down},{live}")
    # The first instance is down (as during a deploy): reading asks the next one.
    got = reply_of(await ask(nc, "sampling.get", sampling_pb2.GetSamplingRequest()), "sampling.get")
    assert got.sampler.type == sampling_pb2.SAMPLER_TYPE_FLOAT and got.sampler.rate == pytest.approx(0.1)
    always = sampling_pb2.SetSamplingRequest(
        sampler=sampling_pb2.Sampler(type=sampling_pb2.SAMPLER_TYPE_ALWAYS)
    )
    code, text = error_of(await ask(nc, "sampling.set", always))
    assert code == 502 and down in text and f"changed on {live.replace(',', ', ')}" in text
    for store in two_petstores:
        with grpc.insecure_channel(store.addr) as channel:
            direct = pb_grpc.PetStoreStub(channel).GetSampler(pb.GetSamplerRequest(), timeout=10)
        assert direct.sampler.type == pb.SAMPLER_TYPE_ALWAYS, store.addr
