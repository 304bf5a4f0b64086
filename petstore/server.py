"""Assemble the petstore (store, sampler, tracing, metrics, gRPC) and run it until SIGTERM."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass

import grpc
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider

from chatops import logs
from chatops.health import ListenError, metrics_app, serving, split_listen
from chatops.lifecycle import stop_on_signals
from petstore.fault import Fault
from petstore.metrics import PetstoreMetrics
from petstore.sampler import PetstoreSampler, SamplerSpec
from petstore.servicer import PetStoreService
from petstore.settings import PetstoreSettings
from petstore.store import PetStore
from petstore.telemetry import otlp_processor, tracer_provider
from petstore.v1 import petstore_pb2_grpc as pb_grpc

log = logs.get_logger(__name__)
GRACE_SECONDS = 5.0


@dataclass(frozen=True)
class ServerConfig:
    """Where to listen (port 0 picks a free one), the version to report, the starting sampler."""

    listen: str
    metrics_listen: str | None
    version: str
    sampler: SamplerSpec
    commit: str = ""
    fault_ratio: float = 0.0  # a demo regression: this share of pet calls fail


@dataclass(frozen=True)
class RunningServer:
    """A started petstore: its bound ports and the parts a test may look at."""

    grpc_port: int
    metrics_port: int | None
    store: PetStore
    sampler: PetstoreSampler
    metrics: PetstoreMetrics
    provider: TracerProvider


async def start(
    stack: AsyncExitStack, config: ServerConfig, processors: Sequence[SpanProcessor]
) -> RunningServer:
    """Start every part; `stack` stops them in reverse order (gRPC drains first, spans flush last)."""
    sampler = PetstoreSampler(config.sampler)
    provider = tracer_provider(sampler, config.version, processors)
    stack.callback(provider.shutdown)
    metrics = PetstoreMetrics(config.version, commit=config.commit)
    store = PetStore()

    metrics_port = None
    if config.metrics_listen is not None:
        metrics_port = await stack.enter_async_context(
            serving(metrics_app(metrics.registry), config.metrics_listen, purpose="/metrics")
        )

    # Without this, grpc sets SO_REUSEPORT and a second petstore would silently share the port.
    server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
    service = PetStoreService(
        store, sampler, provider.get_tracer("petstore"), metrics, Fault(config.fault_ratio)
    )
    pb_grpc.add_PetStoreServicer_to_server(service, server)  # type: ignore[no-untyped-call]
    try:
        grpc_port = server.add_insecure_port(config.listen)
    except RuntimeError as exc:
        raise ListenError(f"cannot listen for gRPC on {config.listen}: {exc}") from None
    if grpc_port == 0:
        raise ListenError(f"cannot listen for gRPC on {config.listen}")
    await server.start()
    stack.push_async_callback(server.stop, GRACE_SECONDS)
    log.info(
        "petstore.started",
        grpc=f"{split_listen(config.listen)[0]}:{grpc_port}",
        metrics_port=metrics_port,
        version=config.version,
        commit=config.commit or None,
        sampler=str(config.sampler),
        fault_ratio=config.fault_ratio or None,
    )
    return RunningServer(grpc_port, metrics_port, store, sampler, metrics, provider)


async def serve(settings: PetstoreSettings) -> int:
    """Run the petstore until SIGTERM or SIGINT, then drain calls and flush spans; returns an exit code."""
    stop = stop_on_signals()
    processors = []
    if settings.OTEL_TRACES_EXPORTER == "otlp":
        processors.append(otlp_processor(settings.OTEL_BSP_SCHEDULE_DELAY))
    config = ServerConfig(
        settings.PETSTORE_LISTEN,
        settings.PETSTORE_METRICS_LISTEN,
        settings.PETSTORE_VERSION,
        settings.sampler,
        commit=settings.PETSTORE_COMMIT,
        fault_ratio=settings.PETSTORE_FAULT_RATIO,
    )
    async with AsyncExitStack() as stack:
        try:
            await start(stack, config, processors)
        except ListenError as exc:
            log.error("petstore.listen_failed", error=str(exc))
            return 1
        await stop.wait()
        log.info("petstore.stopping", grace_seconds=GRACE_SECONDS)
    log.info("petstore.stopped")
    return 0
