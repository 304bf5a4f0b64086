"""Stand-ins for ops.graphs.draw.draw, run in the renderer's worker processes (so: importable by name)."""

from __future__ import annotations

import os
from pathlib import Path

from ops.graphs.plan import Drawing
from tools.harness.wait import eventually_sync


def until_file_exists(d: Drawing) -> bytes:
    """Hold a worker until the file named by the title exists (at most a minute)."""
    eventually_sync(lambda: Path(d.title).exists(), timeout=60, interval=0.05, what=f"{d.title} to exist")
    return b"drawn " + d.title.encode()


def crash_on_request(d: Drawing) -> bytes:
    """A worker that dies the way an out-of-memory kill would, when the title says so."""
    if d.title == "crash":
        os._exit(3)
    return b"drawn " + d.title.encode()
