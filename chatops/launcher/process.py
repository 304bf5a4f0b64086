"""How a component's process starts, is checked and stops: the launcher's supervisor and the harness
the tests and benchmarks use (`tools/harness`) both go through here.

A component runs its argv with the caller's environment and its own on top, in a process group of
its own (so stopping it reaches whatever it started); it is healthy when its HTTP check answers 200
or its TCP port accepts a connection; it stops group-wide, SIGTERM first and SIGKILL after a grace.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from chatops.launcher.spec import Component, Health

LOOPBACK = "127.0.0.1"
PROBE_TIMEOUT = 2.0  # seconds a health check may take before it counts as no answer
_PR_SET_PDEATHSIG = 1


def _own_group_dying_with_parent() -> None:
    """In the child: a session (and process group) of its own, and SIGTERM when its parent dies."""
    os.setsid()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def start_options(
    component: Component, *, cwd: Path | None = None, die_with_parent: bool = False
) -> dict[str, Any]:
    """Keyword arguments for `subprocess.Popen` or `asyncio.create_subprocess_exec` to run `component`.

    The environment is passed through (PATH, the virtualenv, a user's Slack tokens) with the
    component's own wiring on top. `die_with_parent` is for tests: a run that is killed leaves
    nothing behind; the launcher's children outlive it only until it is restarted (its state file).
    """
    options: dict[str, Any] = {
        "env": {**os.environ, **component.env},
        "cwd": cwd,
        "stdin": subprocess.DEVNULL,
    }
    if die_with_parent:
        options["preexec_fn"] = _own_group_dying_with_parent
    else:
        options["start_new_session"] = True
    return options


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
