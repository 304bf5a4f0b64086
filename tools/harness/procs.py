"""A component as a child process of a test or a benchmark: started the way the launcher starts it
(`chatops.launcher.process`), its output in a log file, awaited until healthy, stopped group-wide.
It dies with the run, however the run ends; it can be stopped and started again on the same ports."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from chatops.launcher.process import command, probe, signal_group, start_options
from chatops.launcher.spec import Component, Health
from tools.harness.wait import eventually_sync

ROOT = Path(__file__).resolve().parents[2]  # the checkout: `python -m ops` finds its packages here
STOP_GRACE = 10.0


def python_component(name: str, *args: str, env: Mapping[str, str], health: Health | None) -> Component:
    """`python -m <args>` from this checkout, logging at INFO, with `env` on top."""
    base = {"LOG_LEVEL": "INFO", "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    return Component(name, (sys.executable, "-m", *args), {**base, **env}, health)


@dataclass
class Process:
    """One component's process; `start()` waits for its health check, `stop()` is safe to call twice."""

    component: Component
    workdir: Path
    popen: subprocess.Popen[bytes] | None = None

    @property
    def name(self) -> str:
        return self.component.name

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.name}.log"

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def start(self, *, wait: bool = True, timeout: float = 60.0) -> Process:
        self.workdir.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.popen = subprocess.Popen(
                command(self.component, die_with_parent=True),
                stdout=log,
                stderr=subprocess.STDOUT,
                **start_options(self.component, cwd=self.workdir),
            )
        if wait:
            self.wait_healthy(timeout)
        return self

    def wait_healthy(self, timeout: float = 60.0) -> None:
        """Until its health check answers 200; RuntimeError with the log's tail if it never does."""
        if self.component.health is not None:
            self.answers(self.component.health, 200, timeout)

    def answers(self, health: Health, status: int = 200, timeout: float = 60.0) -> None:
        """Until `health` answers `status`; RuntimeError with the log's tail (and the process stopped)
        when time runs out, at once when the process exits first."""

        def says() -> bool:
            assert self.popen is not None
            if self.popen.poll() is not None:
                raise RuntimeError(f"exited with {self.popen.returncode}")
            return probe(health) == status

        try:
            eventually_sync(says, timeout=timeout, interval=0.05, what=f"{health} answering {status}")
        except (AssertionError, RuntimeError) as exc:
            self.stop()
            raise RuntimeError(f"{self.name}: {exc}\n{self.log_tail()}") from None

    def stop(self, sig: int = signal.SIGTERM, grace: float = STOP_GRACE) -> None:
        """`sig` to its process group, then SIGKILL to the group if it has not exited within `grace`."""
        if self.popen is None or self.popen.poll() is not None:
            return
        signal_group(self.popen.pid, sig)
        try:
            self.popen.wait(grace)
        except subprocess.TimeoutExpired:
            signal_group(self.popen.pid, signal.SIGKILL)
            self.popen.wait(5)

    def kill(self) -> None:
        """SIGKILL, as a crash or an out-of-memory kill would end it."""
        self.stop(signal.SIGKILL)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def python_m(module: str, *args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """`python -m MODULE ARGS…` run to its end from `cwd`, this environment plus `env`, output captured."""
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
    )
