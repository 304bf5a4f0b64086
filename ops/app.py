"""Build the whole Ops service from settings inside an AsyncExitStack (used by main and by tests)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
from nats.aio.client import Client
from nats.micro.service import Service

from chatops import logs, redact
from chatops.bus import connect, jetstream
from chatops.health import bus_gauge, metrics_app, serving
from chatops.identity import load_roster
from chatops.lease import Leader, process_id
from chatops.streams import Limits, ensure, kv_stream
from chatops.subjects import AUDIT_STREAM, CARDS_STREAM, KV_LEASES
from ops.auditlog import AuditLog
from ops.backends import alertmanager, jaeger, prometheus
from ops.backends.http import HttpBackend
from ops.backends.petstore import GrpcPetstore
from ops.backends.traces import TraceBackend
from ops.cardkeeper import CardKeeper
from ops.cards import CardLog
from ops.deadletters import DeadLetters
from ops.deps import Deps
from ops.graphs.pool import ProcessRenderer
from ops.metrics import OpsMetrics
from ops.probe import TraceStoreProbe
from ops.service import Endpoints, answering
from ops.settings import OpsSettings
from ops.silencewatch import SilenceWatch
from ops.tracestore.receiver import receiver_app
from ops.tracestore.store import LocalTraces, SpanStore
from ops.tracing import OtlpSink, Recorder, SpanSink, StoreSink, Tracer

log = logs.get_logger(__name__)

SERVICE = "chatops-ops"  # the service.name of ops' own spans
WATCH_LEASE = "ops.silence-watch"  # the lease of the one replica that watches Alertmanager's silences


@dataclass(frozen=True)
class Running:
    """The parts of a running Ops service that callers may look at."""

    nc: Client
    service: Service
    endpoints: Endpoints[Deps]
    metrics: OpsMetrics
    store: SpanStore | None
    recorder: Recorder


class _Health:
    """Healthy once the service is registered, and while the NATS connection is up."""

    def __init__(self) -> None:
        self.nc: Client | None = None

    def problem(self) -> str:
        if self.nc is None:
            return "starting: not yet serving commands (waiting for NATS)"
        return "" if self.nc.is_connected else "NATS connection lost; reconnecting"


@contextlib.asynccontextmanager
async def running(settings: OpsSettings, *, name: str = "ops") -> AsyncIterator[Running]:
    """Start every part in order, stop them in reverse; a backend being down does not stop start-up."""
    async with contextlib.AsyncExitStack() as stack:
        metrics = OpsMetrics()
        health = _Health()
        bus_gauge(metrics.registry, lambda: not health.problem())
        await stack.enter_async_context(
            serving(
                metrics_app(metrics.registry, health.problem), settings.OPS_METRICS_LISTEN, purpose="/metrics"
            )
        )

        store: SpanStore | None = None
        session = aiohttp.ClientSession()
        stack.push_async_callback(session.close)
        timeout = settings.OPS_BACKEND_TIMEOUT
        traces: TraceBackend
        if settings.local_traces:
            store = SpanStore(
                settings.TRACE_STORE_PATH,
                max_spans=settings.TRACE_STORE_MAX_SPANS,
                max_bytes=settings.TRACE_STORE_MAX_BYTES,
                max_age=settings.TRACE_STORE_MAX_AGE,
                ui_url=settings.trace_ui_url,
            )
            stack.callback(store.close)
            await stack.enter_async_context(
                serving(
                    receiver_app(store),
                    settings.OTLP_LISTEN,
                    purpose="OTLP/HTTP",
                    reuse_port=settings.OTLP_REUSE_PORT,
                )
            )
            traces = LocalTraces(store)
        else:
            traces = jaeger.JaegerTraces(
                HttpBackend(jaeger.NAME, settings.JAEGER_URL, session, timeout), settings.trace_ui_url
            )
        # Ops' own spans: straight into the local store, or to an OTLP endpoint when one is set.
        sink: SpanSink | None = None
        if settings.OTEL_EXPORTER_OTLP_ENDPOINT:
            sink = OtlpSink(settings.OTEL_EXPORTER_OTLP_ENDPOINT, session, SERVICE)
        elif store is not None:
            sink = StoreSink(store)
        recorder = Recorder(SERVICE, sink)
        await stack.enter_async_context(recorder.flushing())  # left after the last command: its spans go
        probe = TraceStoreProbe(traces, metrics.trace_store_up.labels("local" if store else "jaeger"))
        probe.start()
        stack.push_async_callback(probe.stop)

        petstore = GrpcPetstore(settings.PETSTORE_ADDR, timeout)
        stack.push_async_callback(petstore.close)
        renderer = ProcessRenderer(settings.GRAPH_WORKERS)
        stack.callback(renderer.close)

        roster = load_roster(settings.CHATOPS_IDENTITIES)
        log.info("ops.connecting", nats=redact.urls(settings.NATS_URL))
        nc = await connect(settings, name)
        stack.push_async_callback(nc.drain)
        js = jetstream(nc, settings)
        await ensure(js, [AUDIT_STREAM, CARDS_STREAM, kv_stream(KV_LEASES)], Limits.from_settings(settings))
        cards = CardLog(js)

        am = alertmanager.HttpAlertmanager(
            HttpBackend(alertmanager.NAME, settings.ALERTMANAGER_URL, session, timeout)
        )
        deps = Deps(
            traces=traces,
            petstore=petstore,
            prometheus=prometheus.HttpPrometheus(
                HttpBackend(prometheus.NAME, settings.PROMETHEUS_URL, session, timeout)
            ),
            alertmanager=am,
            audit=AuditLog(js),
            deadletters=DeadLetters(js),
            graphs=renderer,
            alertmanager_url=settings.alertmanager_public_url,
            cards=cards,
            petstore_job=settings.PETSTORE_JOB,
            graph_limits=settings.graph_limits,
        )
        endpoints = Endpoints(
            deps,
            Tracer(recorder),
            metrics,
            admins=settings.CHATOPS_ADMINS,
            max_in_flight=settings.OPS_MAX_IN_FLIGHT,
            max_reply=nc.max_payload,  # what this server takes; replies are trimmed to fit
            roster=roster,
        )
        service = await answering(nc, endpoints, stack)  # every subscription in place before we say we are up
        health.nc = nc
        keeper = CardKeeper(js, cards)  # open cards keep their ack past CHATOPS_CARDS' age limit
        keeper.start()
        stack.push_async_callback(keeper.stop)
        if settings.SILENCE_WATCH_INTERVAL > 0:
            interval = settings.SILENCE_WATCH_INTERVAL
            watch = SilenceWatch(
                alertmanager=am,
                cards=cards,
                # A watcher that died is replaced within three of its rounds (at least 5 s).
                leader=Leader(
                    await js.key_value(KV_LEASES), WATCH_LEASE, process_id(), max(5.0, 3 * interval)
                ),
                interval=interval,
                grace=settings.SILENCE_WATCH_GRACE,
                public_url=settings.alertmanager_public_url,
            )
            watch.start()
            stack.push_async_callback(watch.leader.stop)
            stack.push_async_callback(watch.stop)
        log.info(
            "ops.started",
            nats=redact.urls(settings.NATS_URL),
            identities=len(roster.members),
            traces="local" if store else "jaeger",
            otlp=settings.OTLP_LISTEN if store else None,
            metrics=settings.OPS_METRICS_LISTEN,
        )
        yield Running(nc, service, endpoints, metrics, store, recorder)
        log.info("ops.stopping")
