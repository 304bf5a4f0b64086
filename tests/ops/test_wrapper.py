"""The one wrapper, wired by hand with a handler that crashes: 500, a logged traceback, still audited."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from nats.aio.client import Client

from chatops.streams import provision
from chatops.v1 import audit_pb2, version_pb2
from ops.auditlog import AuditFilter, AuditLog
from ops.backends import alertmanager, prometheus
from ops.backends.http import HttpBackend
from ops.backends.petstore import GrpcPetstore
from ops.cards import CardLog
from ops.context import CallContext
from ops.deadletters import DeadLetters
from ops.deps import Deps
from ops.graphs.pool import ProcessRenderer
from ops.handlers import HANDLERS
from ops.metrics import Metrics
from ops.service import Endpoints, start_service
from ops.tracestore.store import LocalTraces, SpanStore
from ops.tracing import Tracer
from tests.ops.conftest import ask, error_of
from tools.harness.components import UNREACHABLE
from tools.harness.ports import LOOPBACK, free_port
from tools.harness.servers import NatsServer


async def crash(
    deps: Deps, ctx: CallContext, request: version_pb2.GetVersionRequest
) -> version_pb2.GetVersionReply:
    raise RuntimeError("a bug, with a secret xoxb-123-456 in its text")


@pytest.fixture
async def open_nc(tmp_path: Path) -> AsyncIterator[Client]:
    """A bus without identities: the wrapper is tested on its own, serving and asking on one client."""
    server = NatsServer(tmp_path / "open-nats").start()
    client = await server.connect("test")
    try:
        yield client
    finally:
        await client.close()
        server.stop()


async def test_crashing_handler_gives_500_and_is_audited(
    tmp_path: Path, open_nc: Client, caplog: pytest.LogCaptureFixture
) -> None:
    nc = open_nc
    js = nc.jetstream()
    await provision(js)
    store = SpanStore(tmp_path / "t.db")
    petstore = GrpcPetstore(f"{LOOPBACK}:{free_port()}", 2)
    renderer = ProcessRenderer(1)
    async with aiohttp.ClientSession() as session:
        deps = Deps(
            traces=LocalTraces(store),
            petstore=petstore,
            prometheus=prometheus.HttpPrometheus(HttpBackend("Prometheus", UNREACHABLE, session, 2)),
            alertmanager=alertmanager.HttpAlertmanager(HttpBackend("Alertmanager", UNREACHABLE, session, 2)),
            audit=AuditLog(js),
            deadletters=DeadLetters(js),
            graphs=renderer,
            alertmanager_url=UNREACHABLE,
            cards=CardLog(js),
        )
        handlers = dict(HANDLERS, **{"version.get": crash})
        endpoints = Endpoints(deps, Tracer(), Metrics(), handlers=handlers)
        service = await start_service(nc, endpoints)
        try:
            with caplog.at_level(logging.ERROR, logger="ops.service"):
                msg = await ask(nc, "version.get", version_pb2.GetVersionRequest())
            code, text = error_of(msg)
            assert (code, text) == (500, "internal error in version.get: RuntimeError")
            crashed = [r for r in caplog.records if "command.crashed" in r.getMessage()]
            assert crashed and crashed[0].exc_info is not None
            events = await deps.audit.read(AuditFilter(limit=5))
            assert [(e.command, e.error_code) for e in events] == [("version.get", 500)]
            assert "xoxb" not in events[0].error
            # Other endpoints are unaffected.
            assert error_of(await ask(nc, "audit.list", audit_pb2.ListAuditRequest()))[0] == 0
        finally:
            await service.stop()
            await endpoints.drain()
            await petstore.close()
            renderer.close()
            store.close()


def test_every_command_needs_a_handler() -> None:
    partial = {k: v for k, v in HANDLERS.items() if k != "audit.list"}
    with pytest.raises(ValueError, match=r"no handler for audit\.list"):
        Endpoints(None, Tracer(), Metrics(), handlers=partial)  # type: ignore[arg-type,misc]
