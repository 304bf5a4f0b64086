"""One replica at a time: a lease in the KV bucket chatops_leases, which another replica takes over
once it has run out.

The holder extends its lease every third of its length with compare-and-set; a holder that dies
stops extending, and the next replica to look after `until` takes it. A holder that cannot reach
the bus stops calling itself the holder a sixth of the length before its lease runs out, so two
replicas never both think they hold it unless their clocks disagree by more than that. Jobs that
must happen exactly once also make each change idempotent (Nats-Msg-Id, or a claim in a record).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
import time
from collections.abc import Callable

from nats.js.errors import KeyDeletedError, KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from chatops import codec, logs
from chatops.lifecycle import cancelled
from chatops.v1.records_pb2 import LeaseRecord

log = logs.get_logger(__name__)


def process_id() -> str:
    """This process, for leases and claims: host, pid and a random part (pids are reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


class Leader:
    """Holds (or waits for) the lease `key` as `owner`; `holds()` says whether to do the job now."""

    def __init__(
        self, kv: KeyValue, key: str, owner: str, length: float, clock: Callable[[], float] = time.time
    ) -> None:
        if length <= 0:
            raise ValueError("a lease needs a positive length")
        self.kv, self.key, self.owner, self.length, self.clock = kv, key, owner, length, clock
        self._until = 0.0  # ours until then (0: not ours)
        self._revision = 0
        self._task: asyncio.Task[None] | None = None

    def holds(self) -> bool:
        """True while the lease is ours, with a sixth of its length to spare."""
        return self.clock() < self._until - self.length / 6

    async def step(self) -> bool:
        """Take the lease if it is free or run out, extend it if it is ours; returns `holds()`."""
        now = self.clock()
        record = LeaseRecord(owner=self.owner)
        record.until.FromNanoseconds(int((now + self.length) * 1e9))
        try:
            try:
                entry = await self.kv.get(self.key)
            except (KeyNotFoundError, KeyDeletedError):
                revision = 0
                held = None
            else:
                revision = int(entry.revision or 0)
                held = codec.decode_record(entry.value or b"", LeaseRecord, key=self.key, required=())
            if held is not None and held.owner != self.owner and held.until.ToNanoseconds() / 1e9 > now:
                self._lose(held.owner)
                return False
            if revision:
                self._revision = int(await self.kv.update(self.key, codec.encode(record), last=revision))
            else:
                self._revision = int(await self.kv.create(self.key, codec.encode(record)))
        except KeyWrongLastSequenceError:
            self._lose("another replica")  # it wrote between our read and our write
            return False
        except Exception as exc:  # the bus is away: keep what we hold until it runs out
            log.warning("lease.step_failed", key=self.key, error=f"{type(exc).__name__}: {exc}")
            return self.holds()
        if not self._until:
            log.info("lease.taken", key=self.key, owner=self.owner)
        self._until = now + self.length
        return True

    def _lose(self, holder: str) -> None:
        if self._until:
            log.info("lease.lost", key=self.key, holder=holder)
        self._until = 0.0

    def start(self) -> None:
        """Keep taking or extending the lease in the background, every third of its length."""
        if self._task is None:
            self._task = asyncio.create_task(self._keep(), name=f"lease-{self.key}")

    async def _keep(self) -> None:
        while True:
            await self.step()
            await asyncio.sleep(self.length / 3)

    async def stop(self) -> None:
        """Stop extending and give the lease up at once (if it is still ours), so another takes over."""
        await cancelled(self._task)
        self._task = None
        if self._until:
            self._until = 0.0
            with contextlib.suppress(Exception):
                await self.kv.delete(self.key, last=self._revision)
