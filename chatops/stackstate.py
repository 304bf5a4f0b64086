"""`<data dir>/state.json`, the record `chatops up` keeps of the stack it runs, and the part of it a
process beside the stack reads: where the bus is, whether the stack's own CA secures it, and who the
stack's ops and gateway take as admins.

The launcher writes the whole record (pids, health, streams); this module owns its file name, the
fields the console reads, and how the console finds the data dir from a folder inside the checkout,
so it finds a stack started with `--tls` or `--base-port` without settings and tells you the same
admins as the stack's ops.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from chatops.access.files import LOCAL_ROOT
from chatops.actors import is_actor
from chatops.settings import check_nats_urls

STATE = "state.json"


def state_path(data_dir: Path) -> Path:
    """Where `chatops up` keeps its record in `data_dir`."""
    return data_dir / STATE


class BadRecord(ValueError):
    """A state.json that is there but that the console cannot use; the message, to follow the file's
    name, says what is wrong with it (never a value, which could be anything)."""


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


def find_data_dir(start: Path, home: Path | None) -> Path | None:
    """The nearest `.chatops` folder in `start` or above it, as git finds `.git`, relative to `start`
    (`.chatops`, `../.chatops`, …); None when there is none. Going up stops before `home`'s parent (a
    folder above the user's home is someone else's) and at the filesystem root; `start` always counts."""
    start, home = start.resolve(), home.resolve() if home is not None else None
    ceiling = None if home is None or home.parent == home else home.parent
    for folder in (start, *start.parents):
        if folder == ceiling and folder != start:
            break
        if (folder / LOCAL_ROOT).is_dir():
            return Path(os.path.relpath(folder / LOCAL_ROOT, start))
    return None


def recorded_bus(data_dir: Path) -> StackBus | None:
    """The bus `chatops up` recorded in `data_dir`; None when there is no record. A record from before
    a field was written reads as the stack it came from ran then: no `tls`, a plain bus; no `admins`,
    none recorded. A record that is there but makes no sense raises BadRecord saying what is wrong.

    The record stays after the stack stops: the bus it names may no longer answer.
    """
    path = state_path(data_dir)
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise BadRecord(f"cannot be read ({exc.strerror or exc})") from None
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError):
        raise BadRecord("is not JSON") from None
    if not isinstance(doc, dict):
        raise BadRecord(f"is not a JSON object but {_kind(doc)}")
    url, tls, admins = doc.get("nats_url"), doc.get("tls", False), doc.get("admins", [])
    if url is None:
        raise BadRecord("names no bus (no nats_url)")
    if not isinstance(url, str):
        raise BadRecord(f"has nats_url as {_kind(url)}, not a string")
    try:
        check_nats_urls(url)
    except ValueError as exc:
        raise BadRecord(f"has a nats_url that is no bus: it {exc}") from None  # not the value: a password?
    if not isinstance(tls, bool):
        raise BadRecord(f"has tls as {_kind(tls)}, not true or false")
    if not isinstance(admins, list):
        raise BadRecord(f"has admins as {_kind(admins)}, not a list")
    if not all(isinstance(a, str) and is_actor(a) for a in admins):
        raise BadRecord("has an admin that is not an actor such as slack:U024BE7LH")
    return StackBus(url, tls, tuple(admins))


def _kind(value: object) -> str:
    """What a JSON value is, for a message; never the value itself, which could be anything."""
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int | float):
        return "a number"
    kinds = {str: "a string", list: "a list", dict: "an object"}
    return next((k for t, k in kinds.items() if isinstance(value, t)), "null")
