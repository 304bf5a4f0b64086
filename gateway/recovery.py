"""Every gateway replica sweeps the journal for messages whose gateway died before answering them, takes
each over with a compare-and-set (so one replica answers it), and answers it in its thread."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from nats.errors import Error as NatsError

from chatops import logs
from gateway.journal import Found, Journal, JournalError, Ticket
from gateway.metrics import GatewayMetrics

log = logs.get_logger(__name__)
# Entries read from the journal per sweep, and entries taken over per sweep, at most: a flood of
# messages makes a sweep no longer, only the next ones go on where it stopped. Read in batches, 5,000
# take a fraction of a second, so a gateway starting after a day of messages catches up in a few sweeps.
SCAN_LIMIT = 5000
TAKE_LIMIT = 8
# A message whose gateways stopped while answering it this many times is not tried again: it may be
# what stops them. Its thread is told so.
MAX_TAKEOVERS = 3

Answerer = Callable[[Ticket], Awaitable[str]]  # answers the message of a taken entry; returns the outcome
GiveUp = Callable[[Ticket], Awaitable[None]]  # says in its thread that it will not be answered


class Recovery:
    """Sweeps at start and every `interval` seconds; an entry not renewed for `stale_after` is an orphan.

    Sweeps go through the bucket's stream in order from where the last one stopped: behind that point
    is only what is done, or was taken over (and so written again, further on). A sweep stops at the
    first entry whose holder may still be answering it, or after SCAN_LIMIT entries.
    """

    def __init__(
        self,
        journal: Journal,
        answer: Answerer,
        give_up: GiveUp,
        metrics: GatewayMetrics,
        *,
        stale_after: float,
        interval: float,
    ) -> None:
        self.journal, self.answer, self.give_up, self.metrics = journal, answer, give_up, metrics
        self.stale_after, self.interval = stale_after, interval
        self.cursor = 0  # the stream sequence swept up to
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="journal-recovery")

    async def stop(self, timeout: float) -> None:
        """No new sweep; an answer under way gets `timeout` seconds (then it is left to another replica)."""
        self._stopping.set()
        if self._task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout)
        except TimeoutError:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.sweep()
            except JournalError as exc:
                log.warning("journal.sweep_failed", error=str(exc))
            except Exception:  # a sweep that crashes is logged; the next one tries again
                log.exception("journal.sweep_crashed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.interval)

    async def sweep(self) -> int:
        """One pass: how many orphans this replica took over (and answered, or gave up on)."""
        taken = 0
        async with contextlib.aclosing(self.journal.scan(self.cursor, SCAN_LIMIT)) as entries:
            async for found in entries:
                if self._stopping.is_set() or taken >= TAKE_LIMIT:
                    break
                entry = found.entry
                if entry is not None and not entry.done:
                    if not self.journal.stale(entry, self.stale_after):
                        break  # its holder may still answer it; everything after it was written later
                    ticket = await self.journal.take(found)
                    if ticket is not None:
                        taken += 1
                        await self._recover(ticket, found)
                self.cursor = found.seq
        return taken

    async def _recover(self, ticket: Ticket, found: Found) -> None:
        entry = ticket.entry
        ids = {"key": entry.dedupe_key, "channel": entry.channel, "thread_ts": entry.thread_ts}
        held_by = found.entry.holder if found.entry is not None else ""
        if entry.takeovers > MAX_TAKEOVERS:
            log.warning("journal.given_up", takeovers=entry.takeovers - 1, held_by=held_by, **ids)
            self.metrics.recovered.labels("given_up").inc()
            try:
                await self.give_up(ticket)
            except Exception:
                log.exception("journal.give_up_failed", **ids)
            with contextlib.suppress(NatsError, TimeoutError):  # else given up on again, by another sweep
                await self.journal.close(ticket)
            return
        log.info("journal.recovering", held_by=held_by, takeovers=entry.takeovers, **ids)
        try:
            outcome = await self.answer(ticket)
        except Exception:  # left to the next takeover (its entry is no longer renewed)
            log.exception("journal.recovery_failed", **ids)
            self.metrics.recovered.labels("failed").inc()
            return
        self.metrics.recovered.labels("answered").inc()
        log.info("journal.recovered", outcome=outcome, **ids)
