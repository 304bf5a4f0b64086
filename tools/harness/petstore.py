"""A real petstore (`python -m petstore serve`) on free loopback ports."""

from __future__ import annotations

import asyncio
from pathlib import Path

from chatops.launcher.spec import Component, Health
from tools.harness.ports import LOOPBACK, free_port
from tools.harness.procs import Process, python_component


class Petstore:
    """A petstore subprocess; `addr` is for PETSTORE_ADDR, `metrics_target` for Prometheus."""

    def __init__(
        self,
        workdir: Path,
        *,
        sampler: str = "float:0.1",
        version: str = "1.0.0",
        otlp_endpoint: str | None = None,
    ) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.metrics_port = free_port()
        self.sampler = sampler
        self.version = version
        self.otlp_endpoint = otlp_endpoint
        self.proc = Process(self.component(), workdir)

    @property
    def addr(self) -> str:
        return f"{LOOPBACK}:{self.port}"

    @property
    def metrics_target(self) -> str:
        return f"{LOOPBACK}:{self.metrics_port}"

    @property
    def metrics_url(self) -> str:
        return f"http://{self.metrics_target}/metrics"

    def component(self) -> Component:
        """Its ports, version, sampler, and where (if anywhere) its spans go."""
        env = {
            "PETSTORE_LISTEN": self.addr,
            "PETSTORE_METRICS_LISTEN": self.metrics_target,
            "PETSTORE_VERSION": self.version,
            "PETSTORE_SAMPLER": self.sampler,
            "OTEL_BSP_SCHEDULE_DELAY": "500",
            "OTEL_TRACES_EXPORTER": "none",
            "OTEL_EXPORTER_OTLP_ENDPOINT": "",
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "",
        }
        if self.otlp_endpoint:
            base = self.otlp_endpoint.rstrip("/").removesuffix("/v1/traces")
            env["OTEL_TRACES_EXPORTER"] = "otlp"
            env["OTEL_EXPORTER_OTLP_ENDPOINT"] = base
            env["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] = f"{base}/v1/traces"
        health = Health(url=f"http://{self.metrics_target}/healthz")
        return python_component(f"petstore-{self.port}", "petstore", "serve", env=env, health=health)

    def start(self) -> Petstore:
        self.proc.component = self.component()  # what was changed since it was made (the sampler)
        self.proc.start()
        return self

    def stop(self) -> None:
        """SIGTERM, wait for the exit (the child flushes its spans on the way out)."""
        self.proc.stop()

    async def astop(self) -> None:
        """`stop()` from async code: the flush may need an OTLP receiver on this very event loop."""
        await asyncio.to_thread(self.proc.stop)

    def kill(self) -> None:
        self.proc.kill()

    def log_tail(self, lines: int = 40) -> str:
        return self.proc.log_tail(lines)
