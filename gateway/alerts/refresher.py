"""Cards shown again when card events change them, coalesced per card: the latest state wins.

Each card changed by an event (gateway/alerts/book.py) is marked; one worker per marked card draws it
from the state at that moment and updates its message, then waits `interval` before it draws that
card again. Events that arrive meanwhile only mark it again, so a storm of acks, silences and
resolves on one card costs one chat.update per interval, and the last update shows the last state.
(Pacing across cards and channels is the Chat's own business.) Any replica may draw any card: the
record's digest makes a replica that would show the same skip the call, and the record's claim keeps
two of them (or delivery) from changing one message at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

from chatops import logs
from chatops.cardref import episode_of
from chatops.v1.records_pb2 import AlertMessageRecord
from gateway.alerts.book import CardBook
from gateway.alerts.card import resolved_silenced_doc
from gateway.alerts.claims import GroupBusy
from gateway.alerts.poster import Poster
from gateway.alerts.render import Limits, alert_doc, all_resolved
from gateway.alerts.store import live_silence
from gateway.metrics import GatewayMetrics
from gateway.render.slack import SlackMessage, to_slack

log = logs.get_logger(__name__)

RETRIES = 5  # failed draws of one card in a row before it waits for the next event


class Refresher:
    """Marks cards changed and shows each again at most once per `interval` seconds."""

    def __init__(
        self,
        *,
        poster: Poster,
        book: CardBook,
        interval: float,
        limits: Limits | None = None,
        metrics: GatewayMetrics | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.poster, self.book, self.interval = poster, book, interval
        self.limits = limits or Limits()
        self.metrics, self.clock = metrics, clock
        self._dirty: set[str] = set()
        self._next: dict[str, float] = {}  # card -> when it may be drawn again
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._resolving: dict[str, str] = {}  # card -> the episode seen resolved while silenced
        self.updates = 0  # chat.update calls made (tests and benchmarks read it)

    def mark(self, refs: set[str]) -> None:
        """These cards changed: draw them again (soon, or after their interval)."""
        for ref in refs:
            self._dirty.add(ref)
            if ref not in self._workers:
                self._workers[ref] = asyncio.create_task(self._card(ref), name=f"card-{ref[:8]}")

    async def rebuild(self) -> None:
        """Once the book has read the bus, draw every open card: one this replica (or another) shows
        already as it would is left alone; one that missed an event while no gateway ran is fixed."""
        await self.book.caught_up()
        log.info("cards.rebuilding", cards=len(self.book.records))
        self.mark(set(self.book.records))

    async def idle(self) -> None:
        """Until no card waits to be drawn (tests)."""
        while self._workers:
            await asyncio.wait(set(self._workers.values()))

    async def stop(self) -> None:
        workers = list(self._workers.values())
        for worker in workers:
            worker.cancel()
        for worker in workers:
            with contextlib.suppress(asyncio.CancelledError):
                await worker
        self._workers.clear()

    async def _card(self, ref: str) -> None:
        failures = 0
        try:
            while ref in self._dirty:
                wait = self._next.get(ref, 0.0) - self.clock()
                if wait > 0:
                    await asyncio.sleep(wait)
                self._dirty.discard(ref)  # what arrives from here on marks it again
                try:
                    outcome = await self.poster.refresh(ref, lambda record: self._redraw(ref, record))
                except GroupBusy as busy:
                    self._dirty.add(ref)
                    await asyncio.sleep(busy.wait)
                    continue
                except Exception as exc:
                    failures += 1
                    log.warning(
                        "cards.refresh_failed",
                        ref=ref,
                        attempt=failures,
                        error=f"{type(exc).__name__}: {exc}",
                    )
                    if failures < RETRIES:
                        self._dirty.add(ref)
                        await asyncio.sleep(min(2.0**failures, 30.0))
                    continue
                failures = 0
                if outcome == "updated":
                    self.updates += 1
                    self._next[ref] = self.clock() + self.interval
                episode = self._resolving.pop(ref, "")
                if episode and outcome in ("updated", "same"):
                    await self._resolved_note(ref, episode)
                if self.metrics is not None:
                    self.metrics.card_refreshes.labels(outcome).inc()
                log.info("cards.refreshed", ref=ref, outcome=outcome)
        finally:
            self._workers.pop(ref, None)
            if len(self._next) > 10_000:
                now = self.clock()
                self._next = {r: t for r, t in self._next.items() if t > now}

    async def _redraw(self, ref: str, record: AlertMessageRecord) -> tuple[SlackMessage, bool] | None:
        note = await self.book.notification(record)
        if note is None:
            return None
        view = await self.book.view(ref, record, note)
        doc = alert_doc(note, ref=ref, silence=live_silence(record), limits=self.limits, view=view)
        if all_resolved(note, view) and note.status == "firing":
            # Resolved while silenced: Alertmanager says nothing, so the thread says it, once.
            self._resolving[ref] = episode_of(record)
        return to_slack(doc), all_resolved(note, view)

    async def _resolved_note(self, ref: str, episode: str) -> None:
        note_id = f"resolved:{episode}"
        for _ in range(RETRIES):
            try:
                outcome = await self.poster.note(ref, note_id, resolved_silenced_doc(), still=lambda r: True)
            except GroupBusy as busy:
                await asyncio.sleep(busy.wait)
                continue
            except Exception as exc:
                log.warning("cards.note_failed", ref=ref, note=note_id, error=f"{type(exc).__name__}: {exc}")
                await asyncio.sleep(1.0)
                continue
            if self.metrics is not None:
                self.metrics.card_notes.labels("resolved", outcome).inc()
            return
