"""Answer each chat event once across retries and replicas: a create-only JetStream KV key per event."""

from __future__ import annotations

import hashlib
import re
import uuid
from typing import Protocol

from nats.errors import Error as NatsError
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from chatops import logs

log = logs.get_logger(__name__)

_KEY_SAFE = re.compile(r"^[-_=.A-Za-z0-9]{1,200}$")


def kv_key(event_key: str) -> str:
    """The event key if KV accepts it as is, else a hash of it."""
    if _KEY_SAFE.match(event_key) and not event_key.startswith(".") and not event_key.endswith("."):
        return event_key
    return "h" + hashlib.sha256(event_key.encode()).hexdigest()[:40]


class Claims(Protocol):
    """What SeenEvents needs of a KV bucket (nats-py's KeyValue)."""

    async def create(self, key: str, value: bytes) -> int: ...

    async def get(self, key: str) -> KeyValue.Entry: ...


class SeenEvents:
    """`first(key)` is True for exactly one caller per key (within the bucket's TTL), as long as the
    bucket answers; when it cannot say, True (answering twice beats never answering)."""

    def __init__(self, kv: Claims) -> None:
        self._kv = kv

    async def first(self, event_key: str) -> bool:
        """True when this caller is the first to see the key; also True when the store cannot say."""
        key = kv_key(event_key)
        mine = uuid.uuid4().hex.encode()  # whose claim it is, should the create's answer be lost
        lost = ""
        for _ in range(2):
            try:
                await self._kv.create(key, mine)
                return True
            except KeyWrongLastSequenceError:
                if not lost:
                    return False  # another's claim
                # A claim again after a lost answer: what it met may be the first create, stored late.
            except (NatsError, TimeoutError) as exc:
                lost = f"{type(exc).__name__}: {exc}"
            # The create may have been stored, or refused for another's claim, with its answer lost
            # on the way back (a slow cluster): the stored value says whose the event is.
            try:
                return (await self._kv.get(key)).value == mine
            except KeyNotFoundError:
                continue  # nothing stored: claim it again
            except (NatsError, TimeoutError) as exc:
                lost = f"{type(exc).__name__}: {exc}"
                break
        log.warning("seen.unavailable", key=event_key, error=lost)
        return True
