"""Build the deploy agent from settings inside an AsyncExitStack (used by main and by tests)."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
from nats.aio.client import Client
from nats.micro.service import Service

from chatops import logs
from chatops.bus import connect, jetstream
from chatops.contract import DEPLOYER
from chatops.health import bus_gauge, metrics_app, serving
from chatops.identity import load_roster
from chatops.lifecycle import retried
from chatops.streams import Limits, ensure
from chatops.subjects import AUDIT_STREAM, DEPLOYS_STREAM
from deployer.canary import CanaryWatch
from deployer.events import EventLog
from deployer.handlers import HANDLERS, DeployerDeps
from deployer.instances import ProcessRunner, Slot, instance_env
from deployer.lock import Locks, lock_bucket
from deployer.manifest import ManifestError, load_manifest
from deployer.metrics import deployer_metrics
from deployer.projection import Projection
from deployer.recovery import start_up, supervise
from deployer.rollout import Deployer, Timing
from deployer.settings import DeployerSettings
from ops.auditlog import AuditLog
from ops.backends.http import HttpBackend
from ops.backends.prometheus import NAME as PROMETHEUS
from ops.backends.prometheus import HttpPrometheus
from ops.service import Endpoints, answering
from ops.tracing import OtlpSink, Recorder, Tracer

log = logs.get_logger(__name__)


@dataclass(frozen=True)
class Running:
    """The parts of a running deployer that callers may look at."""

    nc: Client
    service: Service
    endpoints: Endpoints[DeployerDeps]
    deployer: Deployer
    recorder: Recorder


class _Health:
    """Healthy once the instances run and while the NATS connection is up."""

    def __init__(self, deployer_ready: asyncio.Event, what: str) -> None:
        self.ready = deployer_ready
        self.what = what
        self.nc: Client | None = None

    def problem(self) -> str:
        if self.nc is None:
            return "starting: not yet connected to NATS"
        if not self.ready.is_set():
            return f"starting: bringing up {self.what}"
        return "" if self.nc.is_connected else "NATS connection lost; reconnecting"


async def _stop(d: Deployer, background: list[asyncio.Task[None]], keep: bool) -> None:
    """Stop the rollout and upkeep (the events keep where a deploy was), then the instances."""
    tasks = [*background, *d.tasks]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    if not keep:
        await asyncio.gather(*(d.runner.stop(slot) for slot in d.slots), return_exceptions=True)


@contextlib.asynccontextmanager
async def running(settings: DeployerSettings, *, name: str = "chatops-deployer") -> AsyncIterator[Running]:
    """Start every part in order, stop them in reverse; the instances come up in the background."""
    manifest = load_manifest(settings.DEPLOY_RELEASES)
    service_name = settings.DEPLOY_SERVICE
    if not manifest.releases(service_name):
        raise ManifestError(f"{settings.DEPLOY_RELEASES} has no releases of {service_name} (DEPLOY_SERVICE)")
    initial = settings.DEPLOY_INITIAL_VERSION or manifest.releases(service_name)[0].version
    if manifest.release(service_name, initial) is None:
        raise ManifestError(f"DEPLOY_INITIAL_VERSION={initial} is not a release of {service_name}")
    slots = tuple(Slot.parse(service_name, i, e) for i, e in enumerate(settings.DEPLOY_INSTANCES))

    async with contextlib.AsyncExitStack() as stack:
        metrics = deployer_metrics()
        ready = asyncio.Event()
        health = _Health(ready, f"{len(slots)} instances of {service_name}")
        bus_gauge(metrics.registry, lambda: health.nc is not None and health.nc.is_connected)
        await stack.enter_async_context(
            serving(
                metrics_app(metrics.registry, health.problem),
                settings.DEPLOYER_METRICS_LISTEN,
                purpose="/metrics",
            )
        )
        session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=settings.DEPLOYER_BACKEND_TIMEOUT)
        )
        stack.push_async_callback(session.close)
        endpoint = settings.OTEL_EXPORTER_OTLP_ENDPOINT
        recorder = Recorder(name, OtlpSink(endpoint, session, name) if endpoint else None)
        await stack.enter_async_context(recorder.flushing())  # left after the last command: its spans go

        roster = load_roster(settings.CHATOPS_IDENTITIES)
        nc = await connect(settings, "deployer")
        stack.push_async_callback(nc.drain)
        # Its stream, its lock bucket and the audit log, through the imports of its account.
        js = jetstream(nc, settings)
        await ensure(js, [DEPLOYS_STREAM, AUDIT_STREAM], Limits.from_settings(settings))
        events = EventLog(js)
        projection = Projection.rebuild(await events.read_all())
        # Instances get this process's environment (PETSTORE_SAMPLER, OTEL_*, …) under their own
        # wiring, less the deployer's bus identity and settings: pass-through, as the launcher does
        # for its children, not configuration read here.
        runner = ProcessRunner(
            settings.DEPLOY_STATE_DIR,
            http=session,
            start_timeout=settings.DEPLOY_START_TIMEOUT,
            env=instance_env(os.environ),
        )
        prometheus = HttpPrometheus(
            HttpBackend(PROMETHEUS, settings.PROMETHEUS_URL, session, settings.DEPLOYER_BACKEND_TIMEOUT)
        )
        watch = CanaryWatch(prometheus, settings.PETSTORE_JOB)
        deployer = Deployer(
            service=service_name,
            slots=slots,
            manifest=manifest,
            runner=runner,
            events=events,
            locks=Locks(
                await lock_bucket(js, settings.DEPLOY_LOCK_TTL, settings.CHATOPS_REPLICAS),
                settings.DEPLOY_LOCK_TTL,
            ),
            watch=watch,
            projection=projection,
            timing=Timing(
                settle=settings.DEPLOY_SETTLE_SECONDS,
                check_interval=settings.DEPLOY_CHECK_INTERVAL,
                max_error_ratio=settings.DEPLOY_MAX_ERROR_RATIO,
                min_calls=settings.DEPLOY_MIN_CALLS,
            ),
            agent=settings.DEPLOY_AGENT,
        )
        deployer.ready = ready
        endpoints = Endpoints(
            DeployerDeps(deployer, manifest, watch, AuditLog(js)),
            Tracer(recorder),
            metrics,
            admins=settings.CHATOPS_ADMINS,
            roster=roster,
            handlers=dict(HANDLERS),
            server=DEPLOYER,
            description=f"Deploys of {service_name}: start, rollback, list, release status",
        )
        background: list[asyncio.Task[None]] = []
        stack.push_async_callback(_stop, deployer, background, settings.DEPLOY_KEEP_INSTANCES)
        service = await answering(nc, endpoints, stack)  # every subscription in place before we say we are up
        health.nc = nc

        async def bring_up() -> None:
            # The bus blinked, say: look again, it starts from what runs.
            lock_wait = 3 * settings.DEPLOY_LOCK_TTL + 5
            await retried(
                lambda: start_up(deployer, initial, lock_wait=lock_wait),
                event="deployer.start_up_failed",
                first=1.0,
                most=30.0,
            )
            background.append(asyncio.create_task(supervise(deployer, settings.DEPLOY_CHECK_INTERVAL)))

        background.append(asyncio.create_task(bring_up(), name="deployer-start-up"))
        log.info(
            "deployer.started",
            service=service_name,
            instances=",".join(s.name for s in slots),
            events=projection.last_sequence,
            metrics=settings.DEPLOYER_METRICS_LISTEN,
        )
        yield Running(nc, service, endpoints, deployer, recorder)
        log.info("deployer.stopping")
