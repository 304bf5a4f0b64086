"""Start real servers (nats-server, Prometheus, Alertmanager) on free loopback ports, and stop them."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from nats.aio.client import Client

from chatops import nats_server
from chatops.access.files import AccessFiles, write_access
from chatops.bus import connect, jetstream
from chatops.settings import BusSettings
from chatops.streams import provision
from tools.harness import ports

LOOPBACK = "127.0.0.1"
T = TypeVar("T")


_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child: own session, and SIGTERM when the test run dies, so no server outlives it."""
    os.setsid()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now (from this process's own block)."""
    return ports.free_port()


def binary(*names: str) -> str:
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    raise RuntimeError(f"none of {names} is installed; run `make test` (it installs them)")


def wait_tcp(port: int, timeout: float = 20.0, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening on {port}")
        with contextlib.suppress(OSError), socket.create_connection((LOOPBACK, port), 0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listened on {LOOPBACK}:{port} within {timeout}s")


def wait_http(url: str, timeout: float = 30.0, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:
                if resp.status == 200:
                    return
        except OSError as exc:
            last = str(exc)
        time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer 200 within {timeout}s ({last})")


@dataclass
class Proc:
    """A started server process with its log file; `stop()` is safe to call twice."""

    args: list[str]
    workdir: Path
    name: str
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log_path = self.workdir / f"{self.name}.log"

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 - owned by the child for its lifetime
        self.proc = subprocess.Popen(
            self.args,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.workdir,
            preexec_fn=_die_with_parent,
        )
        log.close()

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


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
            args = [nats_server.find(), "-c", str(self.files.config)]
        else:
            args = [
                nats_server.find(),
                "-a",
                LOOPBACK,
                "-p",
                str(self.port),
                "-js",
                "-sd",
                str(self.store),
                "-n",
                f"test-{self.port}",
            ]
        self.proc = Proc(args, workdir, f"nats-{self.port}")

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

    def start(self) -> NatsServer:
        self.proc.start()
        wait_tcp(self.port, proc=self.proc.proc)
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


def in_thread(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to the end from synchronous code, even while an event loop runs in this thread."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


class Alertmanager:
    """A real Alertmanager with a generated config; `config` is the parsed YAML to write."""

    def __init__(self, workdir: Path, config: dict[str, object] | None = None) -> None:
        self.port = free_port()
        self.cluster_port = free_port()
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
        cfg = workdir / "alertmanager.yml"
        self.proc = Proc(
            [
                binary("prometheus-alertmanager", "alertmanager"),
                f"--config.file={cfg}",
                f"--storage.path={workdir / 'am-data'}",
                f"--web.listen-address={LOOPBACK}:{self.port}",
                f"--cluster.listen-address={LOOPBACK}:{self.cluster_port}",
                f"--web.external-url=http://{LOOPBACK}:{self.port}",
            ],
            workdir,
            f"alertmanager-{self.port}",
        )

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def start(self) -> Alertmanager:
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "alertmanager.yml").write_text(yaml.safe_dump(self.config))
        self.proc.start()
        wait_http(f"{self.url}/-/ready", proc=self.proc.proc)
        return self

    def stop(self) -> None:
        self.proc.stop()


class Prometheus:
    """A real Prometheus with a generated config and rules; scrapes every second."""

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
        cfg = workdir / "prometheus.yml"
        self.proc = Proc(
            [
                binary("prometheus"),
                f"--config.file={cfg}",
                f"--storage.tsdb.path={workdir / 'tsdb'}",
                f"--web.listen-address={LOOPBACK}:{self.port}",
                "--rules.alert.resend-delay=1s",
                "--web.enable-lifecycle",
            ],
            workdir,
            f"prometheus-{self.port}",
        )

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
        self.proc.start()
        wait_http(f"{self.url}/-/ready", proc=self.proc.proc)
        return self

    def stop(self) -> None:
        self.proc.stop()


@contextlib.contextmanager
def running(server: NatsServer | Alertmanager | Prometheus) -> Iterator[None]:
    """Start a server and stop it on the way out, even when the body fails."""
    server.start()
    try:
        yield
    finally:
        server.stop()


def env_with(**extra: str) -> dict[str, str]:
    """The current environment plus `extra`, for starting project processes in tests."""
    env = dict(os.environ)
    env.update(extra)
    return env
