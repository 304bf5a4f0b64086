"""Bounded reads of a JetStream stream through one short-lived consumer: what `timeline`, card look-ups
and recent changes read, never more than a fixed number of messages."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime

from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

IDLE_CONSUMER = 5.0  # seconds a reading consumer outlives its last fetch
BATCH = 256


@dataclass(frozen=True)
class Read:
    """The messages read, oldest first, and how many were left unread beyond the limit."""

    msgs: list[Msg]
    left: int = 0

    @property
    def more(self) -> bool:
        return self.left > 0


async def read(
    js: JetStreamContext,
    stream: str,
    subject: str,
    *,
    since_ns: int = 0,
    last_per_subject: bool = False,
    limit: int = 2000,
    timeout: float = 5.0,
) -> Read:
    """Messages of `stream` on `subject` (wildcards allowed): from `since_ns` (unix ns), or the last
    one per subject, or all; at most `limit` of them. A stream that does not exist reads as empty."""
    config = ConsumerConfig(
        deliver_policy=DeliverPolicy.ALL,
        ack_policy=AckPolicy.NONE,
        filter_subject=subject,
        inactive_threshold=IDLE_CONSUMER,
    )
    if last_per_subject:
        config.deliver_policy = DeliverPolicy.LAST_PER_SUBJECT
    elif since_ns:
        config.deliver_policy = DeliverPolicy.BY_START_TIME
        config.opt_start_time = datetime.fromtimestamp(since_ns / 1e9, UTC)
    try:
        sub = await js.pull_subscribe(subject, stream=stream, config=config)
    except NotFoundError:
        return Read([])
    msgs: list[Msg] = []
    try:
        pending = int((await sub.consumer_info()).num_pending or 0)
        wanted = min(pending, limit)
        while wanted > 0:
            got = await sub.fetch(batch=min(wanted, BATCH), timeout=timeout)
            if not got:
                break
            msgs.extend(got)
            wanted -= len(got)
    finally:
        # The server drops the consumer once idle; deleting it would need a right that could delete
        # other consumers too, which no reader is granted.
        with contextlib.suppress(Exception):
            await sub.unsubscribe()
    return Read(msgs[:limit], max(0, pending - len(msgs[:limit])))


def sequence(msg: Msg) -> int:
    return int(msg.metadata.sequence.stream)
