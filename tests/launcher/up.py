"""`chatops up` as a subprocess, as a newcomer runs it: what it printed, what its state file says, and
which of its processes are still alive (read from /proc, no extra tools)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chatops.launcher.ports import Ports
from tools.harness.ports import free_ports
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
        data = workdir / "data"
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
            doc = json.loads((self.data_dir / "state.json").read_text())
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
