"""One deploy per service at a time: a lease in a KV bucket whose entries expire with their holder.

The bucket's TTL is the lease time; the holder re-writes its entry every third of it. A holder that
dies (even by SIGKILL) stops writing, and its entry is gone within one TTL.
"""

from __future__ import annotations

import asyncio
import contextlib

from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig
from nats.js.errors import BucketNotFoundError, KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from chatops import logs
from chatops.lifecycle import cancelled
from chatops.subjects import KV_DEPLOY_LOCKS
from chatops.v1 import deploys_pb2 as pb

log = logs.get_logger(__name__)


class LockHeld(Exception):
    """Someone else deploys this service now; `holder` is the `requested` event of their deploy."""

    def __init__(self, holder: pb.DeployEvent | None) -> None:
        super().__init__("the deploy lock is held")
        self.holder = holder


async def lock_bucket(js: JetStreamContext, ttl: float, replicas: int = 1) -> KeyValue:
    """The lock bucket, created with `ttl` (or its stream's max age set to it) and at least `replicas`
    (a bucket an older version made at one replica is raised): the deployer owns it."""
    try:
        kv = await js.key_value(KV_DEPLOY_LOCKS)
    except BucketNotFoundError:
        return await js.create_key_value(
            KeyValueConfig(
                bucket=KV_DEPLOY_LOCKS,
                description="service -> the deploy that holds it (expires with its holder)",
                history=1,
                ttl=ttl,
                replicas=replicas,
            )
        )
    stream = f"KV_{KV_DEPLOY_LOCKS}"
    info = await js.stream_info(stream)
    changed = []
    if info.config.max_age != ttl:
        info.config.max_age = ttl
        # The server refuses a de-duplication window longer than the age.
        info.config.duplicate_window = min(info.config.duplicate_window or ttl, ttl)
        changed.append(f"ttl {ttl:g}s")
    if (info.config.num_replicas or 1) < replicas:
        changed.append(f"replicas {info.config.num_replicas or 1} -> {replicas}")
        info.config.num_replicas = replicas
    if changed:
        await js.update_stream(info.config)
        log.info("deploy.lock_bucket_changed", change="; ".join(changed))
    return kv


class Lease:
    """A held lock: `keep()` runs until `release()`; `lost` is set when another holder took over."""

    def __init__(self, kv: KeyValue, key: str, value: bytes, revision: int, ttl: float) -> None:
        self.kv, self.key, self.value, self.revision, self.ttl = kv, key, value, revision, ttl
        self.lost = asyncio.Event()
        self._task: asyncio.Task[None] | None = asyncio.create_task(self._keep(), name=f"lease-{key}")

    async def _keep(self) -> None:
        while True:
            await asyncio.sleep(self.ttl / 3)
            try:
                self.revision = await self.kv.update(self.key, self.value, last=self.revision)
            except KeyWrongLastSequenceError:
                log.error("deploy.lock_lost", service=self.key)
                self.lost.set()
                return
            except Exception as exc:  # the bus blinked: try again next round, within the TTL
                log.warning(
                    "deploy.lock_refresh_failed", service=self.key, error=f"{type(exc).__name__}: {exc}"
                )

    async def release(self) -> None:
        """Stop refreshing and free the lock (only if it is still ours)."""
        await cancelled(self._task)
        self._task = None
        if not self.lost.is_set():
            with contextlib.suppress(Exception):
                await self.kv.delete(self.key, last=self.revision)


class Locks:
    """Acquire the deploy lock of a service."""

    def __init__(self, kv: KeyValue, ttl: float) -> None:
        self.kv = kv
        self.ttl = ttl

    async def acquire(self, service: str, holder: pb.DeployEvent) -> Lease:
        """The lease, or LockHeld naming who holds it."""
        value = holder.SerializeToString()
        for _ in range(2):
            try:
                revision = await self.kv.create(service, value)
            except KeyWrongLastSequenceError:
                raise LockHeld(await self.holder(service)) from None
            except KeyNotFoundError:
                # The holder's entry expired between the create and the client's look at it (to tell a
                # deleted key from a held one): the lock is free now; try again.
                continue
            return Lease(self.kv, service, value, revision, self.ttl)
        raise LockHeld(None)

    async def holder(self, service: str) -> pb.DeployEvent | None:
        """The deploy holding the lock of `service`, or None when it is free."""
        try:
            entry = await self.kv.get(service)
        except KeyNotFoundError:
            return None
        if not entry.value:
            return None
        return pb.DeployEvent.FromString(entry.value)

    async def wait_acquire(self, service: str, holder: pb.DeployEvent, timeout: float) -> Lease:
        """Acquire, waiting up to `timeout` for a dead holder's entry to expire."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            try:
                return await self.acquire(service, holder)
            except LockHeld:
                if loop.time() >= deadline:
                    raise
            await asyncio.sleep(min(0.25, self.ttl / 10))
