"""Answer each chat event once across retries and replicas: a create-only JetStream KV key per event."""

from __future__ import annotations

import hashlib
import re

from nats.errors import Error as NatsError
from nats.js.errors import KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from chatops import logs

log = logs.get_logger(__name__)

_KEY_SAFE = re.compile(r"^[-_=.A-Za-z0-9]{1,200}$")


def kv_key(event_key: str) -> str:
    """The event key if KV accepts it as is, else a hash of it."""
    if _KEY_SAFE.match(event_key) and not event_key.startswith(".") and not event_key.endswith("."):
        return event_key
    return "h" + hashlib.sha256(event_key.encode()).hexdigest()[:40]


class SeenEvents:
    """`first(key)` is True for exactly one caller per key (within the bucket's TTL)."""

    def __init__(self, kv: KeyValue) -> None:
        self._kv = kv

    async def first(self, event_key: str) -> bool:
        """True when this caller is the first to see the key; also True when the store cannot say."""
        try:
            await self._kv.create(kv_key(event_key), b"1")
        except KeyWrongLastSequenceError:
            return False
        except (NatsError, TimeoutError) as exc:
            # Answering twice beats never answering: the reply will say what is down.
            log.warning("seen.unavailable", key=event_key, error=f"{type(exc).__name__}: {exc}")
        return True
