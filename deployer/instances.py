"""The service's instances on this host: start one at a release, stop it, and ask what it runs."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import aiohttp

from chatops import logs
from deployer.manifest import Release

log = logs.get_logger(__name__)

STOP_GRACE = 8.0  # the petstore drains calls for up to 5 s on SIGTERM
_BUILD_INFO = re.compile(r"^petstore_build_info\{([^}]*)\}\s+1(?:\.0)?\s*$", re.M)
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


class StartFailed(Exception):
    """An instance did not become healthy at its release; the text says why (and its last log lines)."""


@dataclass(frozen=True)
class Slot:
    """A place for one instance: its name, gRPC address and /metrics address (fixed, so that
    Prometheus scrapes it whatever version runs there)."""

    name: str
    address: str
    metrics: str

    @classmethod
    def parse(cls, service: str, index: int, entry: str) -> Slot:
        """`127.0.0.1:6742/127.0.0.1:9101` -> Slot("petstore-1", …)."""
        address, _, metrics = entry.partition("/")
        return cls(f"{service}-{index + 1}", address.strip(), metrics.strip())


@dataclass(frozen=True)
class Probe:
    """What runs in a slot: the version its /metrics reports (empty: nothing), and since when."""

    version: str = ""
    healthy: bool = False
    pid: int = 0
    since_ns: int = 0

    @property
    def running(self) -> bool:
        return bool(self.version) and self.healthy


class Runner(Protocol):
    """Starts and stops instances; the deployer's only seam to processes."""

    async def start(self, slot: Slot, release: Release) -> int:
        """Start `release` in the empty slot and wait until it is healthy; returns since (ns)."""
        ...

    async def stop(self, slot: Slot) -> None: ...

    async def probe(self, slot: Slot) -> Probe: ...


# The deployer's own wiring: its bus identity (NATS_CREDS, the seed file, TLS keys), admins and
# settings. An instance needs none of it, and should not hold the deployer's keys.
NOT_FOR_INSTANCES = ("NATS_", "CHATOPS_", "DEPLOY_", "DEPLOYER_", "SLACK_")


def instance_env(environ: Mapping[str, str]) -> dict[str, str]:
    """What an instance inherits of the deployer's environment (PETSTORE_*, OTEL_*, PATH, …)."""
    return {k: v for k, v in environ.items() if not k.startswith(NOT_FOR_INSTANCES)}


def build_info_version(metrics_text: str) -> str:
    """The version label of petstore_build_info on a /metrics page, or "" when absent."""
    found = _BUILD_INFO.search(metrics_text)
    if not found:
        return ""
    labels: dict[str, str] = dict(_LABEL.findall(found.group(1)))
    return labels.get("version", "")


def _alive(pid: int) -> bool:
    """True when `pid` is a running petstore server (its command line says so, so a reused pid is not)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"petstore" in cmdline and b"serve" in cmdline


class ProcessRunner:
    """Instances as `python -m petstore serve` processes in sessions of their own.

    Each slot has `<state_dir>/<name>.json` (pid, version, since) and `<name>.log`; a deployer that
    restarts finds its instances by them.
    """

    def __init__(
        self,
        state_dir: Path,
        *,
        http: aiohttp.ClientSession,
        start_timeout: float = 30.0,
        python: str = sys.executable,
        env: dict[str, str] | None = None,
    ) -> None:
        self.state_dir = state_dir
        self.http = http
        self.start_timeout = start_timeout
        self.python = python
        self.env = env if env is not None else {}
        self._children: dict[str, asyncio.subprocess.Process] = {}
        state_dir.mkdir(parents=True, exist_ok=True)

    def _record(self, slot: Slot) -> Path:
        return self.state_dir / f"{slot.name}.json"

    def _read(self, slot: Slot) -> dict[str, object]:
        try:
            data = json.loads(self._record(slot).read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _pid(self, slot: Slot) -> int:
        """The slot's process: the recorded one, else one found running for this slot (say a deployer
        killed between starting it and writing its record left it behind); 0 when none runs."""
        recorded = int(str(self._read(slot).get("pid", 0) or 0))
        if recorded and _alive(recorded):
            return recorded
        return next(iter(_in_slot(slot)), 0)

    async def probe(self, slot: Slot) -> Probe:
        record = self._read(slot)
        pid = self._pid(slot)
        since = int(str(record.get("since_ns", 0) or 0)) if pid == record.get("pid") else 0
        try:
            async with self.http.get(f"http://{slot.metrics}/healthz") as resp:
                healthy = resp.status == 200
            async with self.http.get(f"http://{slot.metrics}/metrics") as resp:
                version = build_info_version(await resp.text()) if resp.status == 200 else ""
        except (aiohttp.ClientError, TimeoutError):
            return Probe(pid=pid, since_ns=since)
        return Probe(version, healthy, pid, since)

    async def start(self, slot: Slot, release: Release) -> int:
        env = {
            **self.env,
            "PETSTORE_LISTEN": slot.address,
            "PETSTORE_METRICS_LISTEN": slot.metrics,
            "PETSTORE_VERSION": release.version,
            "PETSTORE_COMMIT": release.head,
            "PETSTORE_FAULT_RATIO": str(release.fault_ratio),
            "OTEL_SERVICE_NAME": "petstore",
        }
        log_path = self.state_dir / f"{slot.name}.log"
        # An append-only local file: opening it does not hold the loop up in any way that matters.
        with open(log_path, "ab") as out:  # noqa: ASYNC230
            process = await asyncio.create_subprocess_exec(
                self.python,
                "-m",
                "petstore",
                "serve",
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,  # its own group: a deployer killed with SIGKILL leaves it running
            )
        since = time.time_ns()
        self._children[slot.name] = process
        self._record(slot).write_text(
            json.dumps({"pid": process.pid, "version": release.version, "since_ns": since})
        )
        log.info("instance.starting", instance=slot.name, version=release.version, pid=process.pid)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.start_timeout
        while True:
            if process.returncode is not None:
                raise StartFailed(
                    f"{slot.name} exited with code {process.returncode} at {release.version}: "
                    f"{_tail(log_path)}"
                )
            probe = await self.probe(slot)
            if probe.healthy and probe.version == release.version:
                log.info("instance.started", instance=slot.name, version=release.version, pid=process.pid)
                return since
            if loop.time() > deadline:
                await self.stop(slot)
                raise StartFailed(
                    f"{slot.name} was not healthy at {release.version} within {self.start_timeout:g}s: "
                    f"{_tail(log_path)}"
                )
            await asyncio.sleep(0.1)

    async def stop(self, slot: Slot) -> None:
        """SIGTERM to the instance's group, SIGKILL after a grace period; nothing runs in the slot after
        (a process left behind for this slot, with no record, is stopped too)."""
        recorded = int(str(self._read(slot).get("pid", 0) or 0))
        pids = sorted({p for p in (recorded, *_in_slot(slot)) if p and _alive(p)})
        child = self._children.pop(slot.name, None)
        for pid in pids:
            log.info("instance.stopping", instance=slot.name, pid=pid)
            _signal(pid, signal.SIGTERM)
        for pid in pids:
            mine = child if child is not None and child.pid == pid else None
            if not await _gone(pid, mine, STOP_GRACE):
                _signal(pid, signal.SIGKILL)
                await _gone(pid, mine, STOP_GRACE)
        if child is not None and child.pid not in pids and child.returncode is None:
            await child.wait()
        with contextlib.suppress(FileNotFoundError):
            self._record(slot).unlink()


def _in_slot(slot: Slot) -> list[int]:
    """Every running petstore server started for this slot, found by the address in its environment."""
    wanted = f"PETSTORE_METRICS_LISTEN={slot.metrics}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if wanted in environ and _alive(int(entry.name)):
            found.append(int(entry.name))
    return sorted(found)


async def _gone(pid: int, child: asyncio.subprocess.Process | None, timeout: float) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if child is not None and child.returncode is not None:
            return True
        if child is None and not _alive(pid):
            return True
        await asyncio.sleep(0.05)
    return False


def _signal(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def _tail(path: Path, lines: int = 5) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return "(no log)"
    return " | ".join(line.strip() for line in text) or "(no output)"
