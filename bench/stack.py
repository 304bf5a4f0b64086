"""The whole system as `chatops up` runs it (identities on), in a temporary folder, for the benchmarks.

A benchmark measures what production runs: the launcher starts nats-server with every identity and
least privilege, Prometheus, Alertmanager, the offline Slack, ops, the deployer (and its petstore
instances), the notifier and the gateway, each on a block of free loopback ports. `Stack` starts it,
waits until every component is healthy, and hands out what a benchmark needs: each identity's
connection, the ports, the notifier's token, and the pid of every process.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import fields
from pathlib import Path
from typing import Any

from nats.aio.client import Client

from chatops.access.files import AccessFiles
from chatops.bus import connect
from chatops.launcher.ports import Ports
from chatops.settings import BusSettings
from tools.harness.ports import free_ports

ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT = 120.0


class Stack:
    """`chatops up --no-demo-load` in `workdir`; `env` reaches every component (e.g. SLACKEMU_RATE_*)."""

    def __init__(
        self, workdir: Path, *, env: dict[str, str] | None = None, log_level: str = "WARNING"
    ) -> None:
        self.workdir = workdir
        self.data_dir = workdir / "chatops"
        self.ports = Ports.from_base(free_ports(len(fields(Ports))))
        self.access = AccessFiles(self.data_dir, use_tls=False)
        self.env = {**os.environ, "LOG_LEVEL": log_level, "PYTHONPATH": str(ROOT), **(env or {})}
        for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "NATS_URL"):  # always the offline Slack, own bus
            self.env.pop(name, None)
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = workdir / "up.log"

    @property
    def nats_url(self) -> str:
        return f"nats://{self.ports.addr('nats')}"

    def start(self) -> Stack:
        self.workdir.mkdir(parents=True, exist_ok=True)
        argv = [sys.executable, "-m", "chatops", "up", "--data-dir", str(self.data_dir)]
        argv += ["--base-port", str(self.ports.nats), "--no-demo-load", "--color", "never"]
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
                env=self.env,
                start_new_session=True,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while not self.state().get("healthy"):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"chatops up did not become healthy:\n{self.log_tail()}")
            time.sleep(0.2)
        return self

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def state(self) -> dict[str, Any]:
        try:
            doc = json.loads((self.data_dir / "state.json").read_text())
        except (OSError, ValueError):
            return {}
        return doc if isinstance(doc, dict) else {}

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def settings(self, identity: str) -> BusSettings:
        return BusSettings(NATS_URL=self.nats_url, **self.access.env(identity))  # type: ignore[arg-type]

    def identity_env(self, identity: str) -> dict[str, str]:
        """What a process needs in its environment to connect as `identity`."""
        return {**self.env, "NATS_URL": self.nats_url, **self.access.env(identity)}

    async def connect(self, identity: str) -> Client:
        return await connect(self.settings(identity), identity)

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
            children = sorted(_children(deployer))
            for n, pid in enumerate(children):
                found["petstore" if n == 0 else f"petstore-{n + 1}"] = pid
        return found


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
