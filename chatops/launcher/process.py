"""How a component's process starts, is checked and stops: the launcher's supervisor and the harness
the tests and benchmarks use (`tools/harness`) both go through here.

A component runs its argv with the caller's environment and its own on top, in a process group of
its own (so stopping it reaches whatever it started); it is healthy when its HTTP check answers 200
or its TCP port accepts a connection; it stops group-wide, SIGTERM first and SIGKILL after a grace.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from chatops.launcher.spec import Component, Health

LOOPBACK = "127.0.0.1"
PROBE_TIMEOUT = 2.0  # seconds a health check may take before it counts as no answer
# Tests and benchmarks run a component through this first: SIGTERM when the process that started it
# dies (PR_SET_PDEATHSIG), then exec. A preexec_fn would do it in the forked child, but Python code
# between fork and exec is unsafe in a process with threads (gRPC's own fork handlers abort there).
_DIES_WITH_PARENT = (
    "import ctypes, os, signal, sys; "
    "ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM); "
    "os.execvp(sys.argv[1], sys.argv[1:])"
)


def command(component: Component, *, die_with_parent: bool = False) -> tuple[str, ...]:
    """The argv that runs `component`; with `die_with_parent`, it ends when its starter does (tests:
    a run that is killed leaves nothing behind; the launcher's children outlive it until it is
    started again, its state file names them)."""
    if not die_with_parent:
        return component.argv
    return (sys.executable, "-I", "-c", _DIES_WITH_PARENT, *component.argv)


def start_options(component: Component, *, cwd: Path | None = None) -> dict[str, Any]:
    """Keyword arguments for `subprocess.Popen` or `asyncio.create_subprocess_exec` to run `component`:
    the environment passed through (PATH, the virtualenv, a user's Slack tokens) with the component's
    own wiring on top, and a session (so a process group) of its own."""
    return {
        "env": {**os.environ, **component.env},
        "cwd": cwd,
        "stdin": subprocess.DEVNULL,
        "start_new_session": True,
    }


def probe(health: Health, timeout: float = PROBE_TIMEOUT) -> int | None:
    """The check's HTTP status (200 for an accepted TCP connection), or None when nothing answered."""
    if health.url:
        try:
            with urllib.request.urlopen(health.url, timeout=timeout) as resp:
                return int(resp.status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)  # an answer all the same: the process lives
        except (OSError, ValueError):
            return None
    try:
        with socket.create_connection((LOOPBACK, health.tcp), timeout):
            return 200
    except OSError:
        return None


def signal_group(pgid: int, sig: int) -> None:
    """Send `sig` to a process group; one that is gone already is no error."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)
