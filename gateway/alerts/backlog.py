"""How far alert delivery is behind: the durable consumer's backlog and the age of its oldest message.

Read from JetStream itself (consumer info, then the first message above the ack floor), so every
gateway replica reports the same figures, and a stall shows even while no delivery attempt logs.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from nats.js.client import JetStreamContext
from nats.js.errors import NotFoundError

from chatops import logs
from chatops.lifecycle import cancelled
from chatops.subjects import ALERTS_DELIVERY_DURABLE, ALERTS_PREFIX, ALERTS_STREAM
from gateway.metrics import BacklogGauges

log = logs.get_logger(__name__)

POLL_EVERY = 5.0


@dataclass(frozen=True)
class Backlog:
    """Messages not yet acked (delivered or not), and when the oldest of them was stored."""

    pending: int
    oldest: float | None  # unix time; None when nothing is pending


async def read_backlog(js: JetStreamContext) -> Backlog:
    """Ask JetStream; raises NotFoundError while the delivery consumer does not exist yet."""
    info = await js.consumer_info(ALERTS_STREAM, ALERTS_DELIVERY_DURABLE)
    pending = (info.num_pending or 0) + (info.num_ack_pending or 0)
    if not pending:
        return Backlog(0, None)
    floor = info.ack_floor.stream_seq if info.ack_floor is not None else 0
    try:
        # The first stored message above the ack floor: the oldest one not acked yet (groups are
        # delivered side by side, so a later one may be acked already; this one has waited longest).
        msg = await js.get_msg(ALERTS_STREAM, floor + 1, subject=f"{ALERTS_PREFIX}.>", next=True)
    except NotFoundError:
        return Backlog(pending, None)
    return Backlog(pending, msg.time.timestamp() if msg.time is not None else None)


class BacklogWatch:
    """Reads the backlog every `every` seconds into the gauges Prometheus scrapes."""

    def __init__(self, js: JetStreamContext, gauges: BacklogGauges, *, every: float = POLL_EVERY) -> None:
        self.js = js
        self.gauges = gauges
        self.every = every
        self._task: asyncio.Task[None] | None = None
        self._since: float | None = None  # when pending was first seen without a readable oldest message

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="alert-backlog")

    async def stop(self) -> None:
        await cancelled(self._task)
        self._task = None

    async def poll(self) -> Backlog | None:
        """One reading, given to the gauges; None when JetStream could not say."""
        try:
            backlog = await read_backlog(self.js)
        except NotFoundError:
            return None  # delivery has not made its consumer yet
        except Exception as exc:  # the bus is away: the gauges go stale, the bus alert says why
            log.warning("alerts.backlog_unknown", error=f"{type(exc).__name__}: {exc}")
            return None
        oldest = backlog.oldest
        if backlog.pending and oldest is None:
            # The message was removed by the stream's limits; count from when we first saw it waiting.
            self._since = self._since or time.time()
            oldest = self._since
        elif not backlog.pending:
            self._since = None
        self.gauges.update(backlog.pending, oldest, valid_for=3 * self.every)
        return backlog

    async def _run(self) -> None:
        while True:
            await self.poll()
            await asyncio.sleep(self.every)
