"""`<data dir>/state.json`, the record `chatops up` keeps of the stack it runs, and the part of it a
process beside the stack reads: where the bus is, whether the stack's own CA secures it, and who the
stack's ops and gateway take as admins.

The launcher writes the whole record (pids, health, streams); this module owns its file name and the
fields the console reads, so it finds a stack started with `--tls` or `--base-port` without settings
and tells you the same admins as the stack's ops.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from chatops.actors import is_actor
from chatops.settings import check_nats_urls

STATE = "state.json"


def state_path(data_dir: Path) -> Path:
    """Where `chatops up` keeps its record in `data_dir`."""
    return data_dir / STATE


@dataclass(frozen=True)
class StackBus:
    """A local stack's bus: its URL(s); `tls` when it runs its own NATS over TLS, the CA and every
    identity's certificate in the data dir (`AccessFiles(data_dir, use_tls=True)`); `admins`, the
    CHATOPS_ADMINS the stack gave its ops and gateway (actors)."""

    nats_url: str
    tls: bool = False
    admins: tuple[str, ...] = ()

    def to_state(self) -> dict[str, object]:
        """The record's fields for the console."""
        return {"nats_url": self.nats_url, "tls": self.tls, "admins": list(self.admins)}


def recorded_bus(data_dir: Path) -> StackBus | None:
    """The bus `chatops up` recorded in `data_dir`; None when there is no record, or none that makes sense.

    The record stays after the stack stops: the bus it names may no longer answer.
    """
    try:
        doc = json.loads(state_path(data_dir).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict):
        return None
    url, tls, admins = doc.get("nats_url"), doc.get("tls", False), doc.get("admins", [])
    if not isinstance(url, str) or not isinstance(tls, bool) or not isinstance(admins, list):
        return None
    if not all(isinstance(a, str) and is_actor(a) for a in admins):
        return None
    try:
        return StackBus(check_nats_urls(url), tls, tuple(admins))
    except ValueError:
        return None
