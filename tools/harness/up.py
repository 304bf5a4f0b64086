"""`chatops up` as a subprocess, as a newcomer runs it, for the launcher's tests and the benchmarks:
what it printed, what its state file says, which of its processes are still alive (read from /proc,
no extra tools), and connections to its bus as any of its identities."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nats.aio.client import Client

from chatops.access.files import LOCAL_ROOT, AccessFiles
from chatops.bus import connect
from chatops.launcher.ports import Ports
from chatops.settings import BusSettings
from chatops.stackstate import state_path
from tools.harness.ports import free_ports
from tools.harness.procs import ROOT
from tools.harness.wait import eventually_sync

READY = "Ctrl-C stops everything."  # the launcher's last line once every component is healthy
STARTUP = 240.0  # nine processes on a shared 2-core machine


def free_base() -> int:
    """A base port whose whole block is free right now (from this process's own block of ports)."""
    return free_ports(len(Ports().named()))


def in_groups(pgids: set[int]) -> list[int]:
    """Pids of live (non-zombie) processes whose process group is one of `pgids`."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        # The command name is in parentheses and may contain spaces; fields after it are fixed.
        fields = text.rsplit(")", 1)[1].split()
        state, pgrp = fields[0], int(fields[2])
        if pgrp in pgids and state != "Z":
            found.append(int(stat.parent.name))
    return found


@dataclass
class Up:
    """A running `chatops up` and what it reported; `pgids` collects every group it ever named."""

    proc: subprocess.Popen[bytes]
    data_dir: Path
    ports: Ports
    output: Path
    pgids: set[int] = field(default_factory=set)
    ready_at: float = 0.0  # time.monotonic() when it said every component is healthy

    @classmethod
    def launch(cls, workdir: Path, output: Path, *args: str, **env: str) -> Up:
        """`chatops up` on a free block of ports, with `args` and `env` (Slack tokens and NATS_URL of
        this environment left out unless given); another block if one got taken meanwhile."""
        inherited = {k: v for k, v in os.environ.items() if k != "NATS_URL" and not k.startswith("SLACK_")}
        inherited["PYTHONPATH"] = str(ROOT)
        data = workdir / LOCAL_ROOT  # where a newcomer's stack keeps it, so `chatops ask` there finds it
        for _ in range(3):
            base = free_base()
            argv = ["--data-dir", str(data), "--base-port", str(base), "--color", "never", *args]
            with open(output, "wb") as sink:
                proc = subprocess.Popen(
                    [sys.executable, "-m", "chatops.launcher", *argv],
                    cwd=workdir,
                    env={**inherited, **env},
                    stdout=sink,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            try:
                code = proc.wait(5)
            except subprocess.TimeoutExpired:
                return cls(proc, data, Ports.from_base(base), output)
            if code != 2 or "already in use" not in output.read_text():
                return cls(proc, data, Ports.from_base(base), output)
        raise AssertionError(f"no free block of ports for chatops up: {output.read_text()}")

    def state(self) -> dict[str, Any]:
        try:
            doc = json.loads(state_path(self.data_dir).read_text())
        except (OSError, ValueError):
            return {}
        for comp in doc.get("components", {}).values():
            self.pgids.update(comp["pgids"])
        return dict(doc)

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.output.read_text(errors="replace").splitlines()[-lines:])

    def until_ready(self, timeout: float = STARTUP) -> None:
        """Until this launcher says every component is healthy; at once AssertionError if it exits."""

        def ready() -> bool:
            if self.proc.poll() is not None:
                raise RuntimeError(f"chatops up exited with {self.proc.returncode}:\n{self.tail()}")
            state = self.state()
            # state.json says healthy a moment before the launcher prints its table and summary.
            return (
                bool(state.get("healthy"))
                and state.get("launcher_pid") == self.proc.pid
                and READY in self.tail()
            )

        eventually_sync(ready, timeout=timeout, interval=0.2, what="chatops up to report healthy")
        self.ready_at = time.monotonic()

    def leaves_nothing(self) -> None:
        """What got SIGKILL at the end is gone moments later, not at the instant the launcher exits."""
        eventually_sync(
            lambda: in_groups(self.pgids) == [], timeout=15, what=f"no process left in {self.pgids}"
        )

    def stop(self) -> None:
        """SIGTERM and wait; then, belt and braces, SIGKILL whatever is left in its groups."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(120)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.state()
        for pgid in self.pgids:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)

    # What a tool on the stack's bus needs (the stack runs its own NATS, identities on).

    @property
    def nats_url(self) -> str:
        return f"nats://{self.ports.addr('nats')}"

    @property
    def access(self) -> AccessFiles:
        return AccessFiles(self.data_dir, use_tls=False)

    def settings(self, identity: str) -> BusSettings:
        return BusSettings(NATS_URL=self.nats_url, **self.access.env(identity))  # type: ignore[arg-type]

    def identity_env(self, identity: str) -> dict[str, str]:
        """What a process needs in its environment to connect as `identity`."""
        return {**os.environ, "PYTHONPATH": str(ROOT), "NATS_URL": self.nats_url, **self.access.env(identity)}

    async def connect(self, identity: str) -> Client:
        return await connect(self.settings(identity), identity)

    def console(self, *args: str) -> subprocess.CompletedProcess[str]:
        """`chatops ARGS…` as a newcomer runs it beside the stack: from where `chatops up` ran, no NATS_*."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("NATS_")}
        return subprocess.run(
            [sys.executable, "-m", "chatops", *args],
            cwd=self.data_dir.parent,
            env={**env, "PYTHONPATH": str(ROOT), "CHATOPS_COMMAND_TIMEOUT": "20"},
            capture_output=True,
            text=True,
            timeout=90,
        )

    @property
    def notifier_token(self) -> str:
        return (self.data_dir / "config" / "notifier.token").read_text().strip()

    def petstore_addrs(self) -> list[str]:
        return [self.ports.addr("petstore"), self.ports.addr("petstore2")]

    def pids(self) -> dict[str, int]:
        """Every component's process, the deployer's petstore instances included (petstore, petstore-2)."""
        found = {
            name: int(c["pid"]) for name, c in self.state().get("components", {}).items() if c.get("pid")
        }
        deployer = found.get("deployer")
        if deployer:
            for n, pid in enumerate(sorted(_children(deployer))):
                found["petstore" if n == 0 else f"petstore-{n + 1}"] = pid
        return found


@contextlib.contextmanager
def running_up(
    workdir: Path,
    *args: str,
    env: dict[str, str] | None = None,
    output: str = "up.log",
    timeout: float = STARTUP,
) -> Iterator[Up]:
    """`chatops up` with `args` and `env`, healthy, for the length of a `with` block; stopped after."""
    up = Up.launch(workdir, workdir / output, *args, **(env or {}))
    try:
        up.until_ready(timeout)
        yield up
    finally:
        up.stop()


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def rss_mb(pid: int) -> float:
    """A process's resident set size now, in MB (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0
