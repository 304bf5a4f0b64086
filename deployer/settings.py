"""The deployer's settings: the instances it owns, the release manifest, and how it judges a canary."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, Field

from chatops.settings import (
    AdminList,
    BusSettings,
    CsvList,
    HostPort,
    HttpUrl,
    OptionalHttpUrl,
    check_host_port,
)


def _slots(value: tuple[str, ...]) -> tuple[str, ...]:
    if not value:
        raise ValueError("name at least one instance as grpc_host:port/metrics_host:port")
    for entry in value:
        grpc_addr, sep, metrics = entry.partition("/")
        if not sep:
            raise ValueError(f"{entry!r} must be grpc_host:port/metrics_host:port")
        check_host_port(grpc_addr)
        check_host_port(metrics)
    ports = [p for entry in value for p in entry.split("/")]
    if len(set(ports)) != len(ports):
        raise ValueError("two instances would share an address")
    return value


Slots = Annotated[CsvList, AfterValidator(_slots)]


class DeployerSettings(BusSettings):
    """Read once at start-up; a bad value names its variable."""

    DEPLOY_SERVICE: str = Field(default="petstore", pattern=r"^[a-z][a-z0-9-]{0,62}$")
    DEPLOY_RELEASES: Path = Path("releases.yaml")
    # One entry per instance, `grpc_host:port/metrics_host:port`; Prometheus must scrape each metrics
    # address in PETSTORE_JOB (the committed prometheus.yml does, for the defaults).
    DEPLOY_INSTANCES: Slots = ("127.0.0.1:6742/127.0.0.1:9101", "127.0.0.1:6743/127.0.0.1:9104")
    # The version a fleet with no deploy events starts at; empty: the manifest's first release.
    DEPLOY_INITIAL_VERSION: str = ""
    DEPLOY_SETTLE_SECONDS: float = Field(default=30.0, ge=0, le=3600)
    DEPLOY_MAX_ERROR_RATIO: float = Field(default=0.05, ge=0, le=1)
    DEPLOY_MIN_CALLS: int = Field(default=20, ge=0)
    DEPLOY_CHECK_INTERVAL: float = Field(default=2.0, gt=0, le=60)
    DEPLOY_START_TIMEOUT: float = Field(default=30.0, gt=0, le=600)
    DEPLOY_LOCK_TTL: float = Field(default=15.0, ge=1, le=600)
    DEPLOY_STATE_DIR: Path = Path(".chatops/deployer")
    # True: instances keep running when the deployer stops, and a restarted deployer adopts them.
    DEPLOY_KEEP_INSTANCES: bool = False
    DEPLOY_AGENT: str = Field(default_factory=socket.gethostname, pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    PETSTORE_JOB: str = Field(default="petstore", pattern=r"^[A-Za-z0-9_:.-]+$")
    PROMETHEUS_URL: HttpUrl = "http://127.0.0.1:9090"
    DEPLOYER_METRICS_LISTEN: HostPort = "127.0.0.1:9105"
    DEPLOYER_BACKEND_TIMEOUT: float = Field(default=5.0, gt=0, le=120)
    CHATOPS_ADMINS: AdminList
    # The roster `chatops access` (or, on an operator-managed NATS, `chatops roster`) writes: each
    # identity's public nkey, so it knows who sent a command.
    CHATOPS_IDENTITIES: Path | None = None
    OTEL_EXPORTER_OTLP_ENDPOINT: OptionalHttpUrl = ""
