"""Start a real petstore (`python -m petstore serve`) on free loopback ports, and stop it."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.harness.servers import LOOPBACK, Proc, env_with, free_port, wait_http, wait_tcp


@dataclass
class EnvProc(Proc):
    """A Proc started with an environment of its own."""

    env: dict[str, str] = field(default_factory=dict)

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                self.args,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
                env=self.env,
                start_new_session=True,
            )


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
        self.proc = EnvProc([sys.executable, "-m", "petstore", "serve"], workdir, f"petstore-{self.port}")

    @property
    def addr(self) -> str:
        return f"{LOOPBACK}:{self.port}"

    @property
    def metrics_target(self) -> str:
        return f"{LOOPBACK}:{self.metrics_port}"

    @property
    def metrics_url(self) -> str:
        return f"http://{self.metrics_target}/metrics"

    def env(self) -> dict[str, str]:
        """The child's environment: ports, version, sampler, and where (if anywhere) spans go."""
        extra = {
            "PETSTORE_LISTEN": self.addr,
            "PETSTORE_METRICS_LISTEN": self.metrics_target,
            "PETSTORE_VERSION": self.version,
            "PETSTORE_SAMPLER": self.sampler,
            "OTEL_BSP_SCHEDULE_DELAY": "500",
            "LOG_LEVEL": "INFO",
        }
        if self.otlp_endpoint:
            base = self.otlp_endpoint.rstrip("/").removesuffix("/v1/traces")
            extra["OTEL_TRACES_EXPORTER"] = "otlp"
            extra["OTEL_EXPORTER_OTLP_ENDPOINT"] = base
            extra["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] = f"{base}/v1/traces"
        else:
            extra["OTEL_TRACES_EXPORTER"] = "none"
        env = env_with(**extra)
        if not self.otlp_endpoint:
            env.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)
            env.pop("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", None)
        return env

    def start(self) -> Petstore:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.proc.env = self.env()
        self.proc.start()
        try:
            wait_http(f"http://{self.metrics_target}/healthz", proc=self.proc.proc)
            wait_tcp(self.port, proc=self.proc.proc)
        except (RuntimeError, TimeoutError) as exc:
            self.proc.stop()
            raise RuntimeError(f"petstore did not start: {exc}\n{self.proc.log_tail()}") from exc
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


@pytest.fixture
def petstore(tmp_path: Path) -> Iterator[Petstore]:
    """A running petstore for one test (sampler float:0.1, version 1.0.0, no span export)."""
    server = Petstore(tmp_path / "petstore").start()
    try:
        yield server
    finally:
        server.stop()
