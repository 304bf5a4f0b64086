"""The Ops service's settings: where its backends are, limits, admins and listen addresses."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pydantic import Field

from chatops import redact
from chatops.settings import AdminList, BusSettings, HostPort, HostPorts, HttpUrl, OptionalHttpUrl
from ops.graphs.window import GraphLimits

JAEGER_UI_DEFAULT = "http://127.0.0.1:16686"


class OpsSettings(BusSettings):
    """Read once at start-up; a bad value names its variable."""

    # The petstore's gRPC address, or every instance's (comma-separated): sampler changes go to each.
    PETSTORE_ADDR: HostPorts = "127.0.0.1:6742"
    PROMETHEUS_URL: HttpUrl = "http://127.0.0.1:9090"
    ALERTMANAGER_URL: HttpUrl = "http://127.0.0.1:9093"
    # Links to Alertmanager shown in chat (a silence's page); unset: ALERTMANAGER_URL without credentials.
    ALERTMANAGER_PUBLIC_URL: OptionalHttpUrl = ""
    JAEGER_URL: OptionalHttpUrl = ""
    TRACE_UI_URL: OptionalHttpUrl = ""
    TRACE_STORE_PATH: Path = Path(".chatops/traces.sqlite3")
    TRACE_STORE_MAX_SPANS: int = Field(default=200_000, ge=100)
    TRACE_STORE_MAX_BYTES: int = Field(default=256 << 20, ge=1 << 20)  # the SQLite file's data pages
    TRACE_STORE_MAX_AGE: float = Field(default=24 * 3600.0, gt=0)  # seconds
    OTLP_LISTEN: HostPort = "127.0.0.1:4318"
    # Several ops replicas on one host listen on the same OTLP_LISTEN (SO_REUSEPORT, same user only)
    # and share TRACE_STORE_PATH: spans reach whichever replica is up, and a trace link made by one
    # opens while any other runs.
    OTLP_REUSE_PORT: bool = False
    OPS_METRICS_LISTEN: HostPort = "127.0.0.1:9102"
    OPS_BACKEND_TIMEOUT: float = Field(default=5.0, gt=0, le=120)
    # Requests of one command running at once; more are answered 503 "busy" straight away.
    OPS_MAX_IN_FLIGHT: int = Field(default=32, ge=1, le=10_000)
    CHATOPS_ADMINS: AdminList
    # The roster `chatops access` writes: each identity's public nkey, so ops knows who sent a command.
    CHATOPS_IDENTITIES: Path | None = None
    PETSTORE_JOB: str = Field(default="petstore", pattern=r"^[A-Za-z0-9_:.-]+$")
    # Graphs: the longest range one may cover (seconds), points per series, series a query may return.
    GRAPH_MAX_RANGE: float = Field(default=7 * 86400.0, ge=60, le=366 * 86400.0)
    GRAPH_MAX_POINTS: int = Field(default=1000, ge=10, le=11000)
    GRAPH_MAX_SERIES: int = Field(default=200, ge=10, le=10000)
    # Worker processes drawing graphs at once (each holds matplotlib, about 60 MB).
    GRAPH_WORKERS: int = Field(default=2, ge=1, le=16)
    # How often one ops replica asks Alertmanager for its silences and alerts, to turn their changes into
    # events on CHATOPS_CARDS (amtool and UI silences included); 0: not at all.
    SILENCE_WATCH_INTERVAL: float = Field(default=15.0, ge=0, le=3600)
    # An Alertmanager younger than this (seconds) has lost its alerts until Prometheus resends them:
    # alerts missing from it are not taken as resolved while silenced.
    SILENCE_WATCH_GRACE: float = Field(default=120.0, ge=0, le=3600)
    # Where ops sends its own spans; empty: the local store when JAEGER_URL is unset, else nowhere.
    OTEL_EXPORTER_OTLP_ENDPOINT: OptionalHttpUrl = ""

    @property
    def graph_limits(self) -> GraphLimits:
        return GraphLimits(
            max_range=timedelta(seconds=self.GRAPH_MAX_RANGE),
            max_points=self.GRAPH_MAX_POINTS,
            max_series=self.GRAPH_MAX_SERIES,
        )

    @property
    def local_traces(self) -> bool:
        return not self.JAEGER_URL

    @property
    def alertmanager_public_url(self) -> str:
        return (self.ALERTMANAGER_PUBLIC_URL or redact.url(self.ALERTMANAGER_URL)).rstrip("/")

    @property
    def trace_ui_url(self) -> str:
        """Base of trace links: TRACE_UI_URL, else Jaeger's UI, else the local store's own page."""
        if self.TRACE_UI_URL:
            return redact.url(self.TRACE_UI_URL).rstrip("/")
        if self.JAEGER_URL:
            return JAEGER_UI_DEFAULT
        return f"http://{self.OTLP_LISTEN}"
