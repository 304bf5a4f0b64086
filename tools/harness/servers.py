"""Real servers on free loopback ports in a directory of their own: nats-server, Prometheus and
Alertmanager, started from the same components the launcher runs (`chatops.launcher.spec`)."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any, Protocol, TypeVar

import yaml
from nats.aio.client import Client

from chatops import nats_server
from chatops.access.files import AccessFiles, write_access
from chatops.bus import connect, jetstream
from chatops.launcher.spec import alertmanager_component, nats_component, prometheus_component
from chatops.settings import BusSettings
from chatops.streams import provision
from tools.harness.ports import LOOPBACK, free_port
from tools.harness.procs import Process
from tools.harness.wait import in_thread

T = TypeVar("T")
S = TypeVar("S", bound="Startable")
RESEND_DELAY = "1s"  # Prometheus sends a firing alert again every second: tests need not wait


class Startable(Protocol):
    def start(self) -> Any: ...
    def stop(self) -> None: ...


@contextlib.contextmanager
def running(server: S) -> Iterator[S]:
    """Start a server (or any part with start/stop) and stop it on the way out, even when the body fails."""
    server.start()
    try:
        yield server
    finally:
        server.stop()


def all_or_nothing(start: Callable[[], object], stop: Callable[[], object]) -> None:
    """`start()`; when it fails half way, `stop()` what did start before the error goes on."""
    try:
        start()
    except BaseException:
        stop()
        raise


class Parts:
    """Parts kept as they start and stopped last first when done, even when starting one failed."""

    def __init__(self) -> None:
        self._started: list[Startable] = []

    def __call__(self, part: S) -> S:
        """Keep `part`, started already, to be stopped with the rest."""
        self._started.append(part)
        return part

    def up(self, part: S) -> S:
        """Start `part` and keep it."""
        part.start()
        return self(part)

    def stop(self) -> None:
        while self._started:
            self._started.pop().stop()


class Silent:
    """A backend that accepts connections and answers none of them until `stop()`, when they fail."""

    def __init__(self) -> None:
        self.server = socket.create_server((LOOPBACK, 0))
        self.url = f"http://{LOOPBACK}:{self.server.getsockname()[1]}"

    def start(self) -> Silent:
        return self

    def stop(self) -> None:
        self.server.close()


def binary(*names: str) -> str:
    """The first of `names` on PATH; RuntimeError saying how to install it otherwise."""
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    raise RuntimeError(f"none of {names} is installed; run `make test` (it installs them)")


def env_with(**extra: str) -> dict[str, str]:
    """The current environment plus `extra`, for starting project processes by hand."""
    return {**os.environ, **extra}


class NatsServer:
    """nats-server with JetStream, its store in a directory of its own; restartable on the same port.

    With `identities`, it runs the configuration `chatops access` writes (accounts, nkey users, least
    privilege), over TLS with `tls`, and its streams and buckets are provisioned once it is up; then
    `settings(name)` / `env(name)` / `connect(name)` connect as identity `name`.
    """

    def __init__(
        self,
        workdir: Path,
        port: int | None = None,
        *,
        identities: bool = False,
        tls: bool = False,
        provisioned: bool = True,
    ) -> None:
        self.port = port or free_port()
        self.store = workdir / "jetstream"
        self.tls = tls
        self.provisioned = provisioned
        self.files: AccessFiles | None = None
        if identities or tls:
            self.files = write_access(
                workdir / "access",
                host=LOOPBACK,
                port=self.port,
                store_dir=self.store,
                server_name=f"test-{self.port}",
                use_tls=tls,
            )
        config = self.files.config if self.files is not None else None
        component = nats_component(nats_server.find(), self.port, self.store, config=config, name="nats")
        self.proc = Process(component, workdir)

    @property
    def url(self) -> str:
        return f"{'tls' if self.tls else 'nats'}://{LOOPBACK}:{self.port}"

    def env(self, name: str) -> dict[str, str]:
        """What a process needs in its environment to connect as identity `name` (NATS_URL included)."""
        env = {"NATS_URL": self.url}
        if self.files is not None:
            env |= self.files.env(name)
        return env

    def settings(self, name: str) -> BusSettings:
        return BusSettings(**self.env(name))  # type: ignore[arg-type]

    async def connect(self, name: str) -> Client:
        """A client connected as identity `name` (any name on a server without identities)."""
        return await connect(self.settings(name), name)

    @contextlib.asynccontextmanager
    async def connected(self, name: str) -> AsyncIterator[Client]:
        """`connect(name)`, closed on the way out."""
        client = await self.connect(name)
        try:
            yield client
        finally:
            await client.close()

    def start(self) -> NatsServer:
        self.proc.start(timeout=20)
        if self.files is not None and self.provisioned:
            in_thread(self._provision())
        return self

    async def _provision(self) -> None:
        nc = await self.connect("provisioner")
        try:
            await provision(jetstream(nc, self.settings("provisioner")))
        finally:
            await nc.close()

    def stop(self) -> None:
        self.proc.stop()

    def kill(self) -> None:
        self.proc.kill()


class Alertmanager:
    """A real Alertmanager with a generated config; `config` is the parsed YAML to write."""

    def __init__(self, workdir: Path, config: dict[str, object] | None = None) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.config = config or {
            "route": {
                "receiver": "null",
                "group_wait": "1s",
                "group_interval": "5s",
                "repeat_interval": "1h",
            },
            "receivers": [{"name": "null"}],
        }
        component = alertmanager_component(
            binary("prometheus-alertmanager", "alertmanager"),
            self.port,
            workdir / "alertmanager.yml",
            workdir / "am-data",
        )
        self.proc = Process(component, workdir)

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def start(self) -> Alertmanager:
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "alertmanager.yml").write_text(yaml.safe_dump(self.config))
        self.proc.start(timeout=30)
        return self

    def stop(self) -> None:
        self.proc.stop()


class Prometheus:
    """A real Prometheus with a generated config and rules; scrapes and evaluates every second."""

    def __init__(
        self,
        workdir: Path,
        scrape_targets: dict[str, list[str]] | None = None,
        rules: list[dict[str, object]] | None = None,
        alertmanager_url: str | None = None,
    ) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.scrape_targets = scrape_targets or {}
        self.rules = rules or []
        self.alertmanager_url = alertmanager_url
        component = prometheus_component(
            binary("prometheus"),
            self.port,
            workdir / "prometheus.yml",
            workdir / "tsdb",
            resend_delay=RESEND_DELAY,
        )
        self.proc = Process(component, workdir)

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def config(self) -> dict[str, object]:
        config: dict[str, object] = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "scrape_configs": [
                {"job_name": job, "static_configs": [{"targets": targets}]}
                for job, targets in self.scrape_targets.items()
            ],
        }
        if self.rules:
            config["rule_files"] = [str(self.workdir / "rules.yml")]
        if self.alertmanager_url:
            host = self.alertmanager_url.split("://", 1)[1].rstrip("/")
            config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [host]}]}]}
        return config

    def start(self) -> Prometheus:
        self.workdir.mkdir(parents=True, exist_ok=True)
        if self.rules:
            (self.workdir / "rules.yml").write_text(
                yaml.safe_dump({"groups": [{"name": "test", "interval": "1s", "rules": self.rules}]})
            )
        (self.workdir / "prometheus.yml").write_text(yaml.safe_dump(self.config()))
        self.proc.start(timeout=30)
        return self

    def stop(self) -> None:
        self.proc.stop()
