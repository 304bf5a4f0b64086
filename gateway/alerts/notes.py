"""Thread notes that come with time, not with an event: an unacknowledged firing alert said again
(to the on-call group when there is one), a silence about to end, a silence that ended.

One gateway replica posts them: the holder of the lease `gateway.card-notes` (chatops_leases). Each
note has an id made of what it is about (the episode and the how-many-th re-announcement; the
silence and its end), and is posted under a claim in the card's record that is cleared with the id
noted, so a note is posted once even across a hand-over or a crash between Slack's accept and the
record (the next holder finds it by the id in the message's metadata).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from chatops import logs
from chatops.cardref import episode_of, short_ref
from chatops.lease import Leader
from chatops.lifecycle import cancelled
from chatops.v1 import cards_pb2 as pb
from chatops.v1.events_pb2 import AlertNotification
from chatops.v1.records_pb2 import AlertMessageRecord
from gateway.alerts.book import CardBook, maker, mutes
from gateway.alerts.card import SilenceShown, ended_doc, expiring_doc, reannounce_doc
from gateway.alerts.claims import GroupBusy
from gateway.alerts.poster import Poster
from gateway.alerts.render import alert_names, all_resolved
from gateway.alerts.store import REANNOUNCE
from gateway.metrics import GatewayMetrics
from gateway.render.doc import Doc

log = logs.get_logger(__name__)


@dataclass(frozen=True)
class NoteTimes:
    """When notes are due; the settings give them, tests shorten them."""

    reannounce_after: float = 900.0  # 0: never
    reannounce_times: int = 3
    warn_before: float = 600.0  # 0: no warning before a silence ends
    tick: float = 5.0  # how often the due notes are looked for
    group: str = ""  # ONCALL_USERGROUP: who re-announcements mention


@dataclass(frozen=True)
class Due:
    """A note to post now, and what must still hold when it is claimed."""

    kind: str
    note_id: str
    doc: Doc
    still: Callable[[AlertMessageRecord], bool]


def _seconds(ts: object) -> float:
    return float(ts.ToNanoseconds()) / 1e9  # type: ignore[attr-defined]


def _shown(silence: pb.SilenceEvent) -> SilenceShown:
    return SilenceShown(
        silence_id=silence.silence_id,
        by=maker(silence),
        until=silence.ends_at.ToDatetime(tzinfo=UTC),
        url=silence.url,
        muted=0,
        from_chat=bool(silence.actor),
    )


def due_notes(
    ref: str,
    record: AlertMessageRecord,
    note: AlertNotification,
    book: CardBook,
    times: NoteTimes,
    now: float,
) -> list[Due]:
    """The notes due on this card now (pure but for reading the book)."""
    if record.resolved or all_resolved(note):
        return []
    episode = episode_of(record)
    firing = [a for a in note.alerts if a.status == "firing"]
    silences = book.silences_of(note)
    out: list[Due] = []
    for silence in silences:
        ends = _seconds(silence.ends_at)
        shown = _shown(silence)
        ended = silence.state == "expired" or ends <= now
        if ended:
            out.append(
                Due("ended", f"ended:{silence.silence_id}:{ends:.0f}", ended_doc(shown), lambda r: True)
            )
        elif times.warn_before and ends - now <= times.warn_before and any(mutes(silence, a) for a in firing):
            out.append(
                Due(
                    "expiring",
                    f"expiring:{silence.silence_id}:{ends:.0f}",
                    expiring_doc(shown),
                    lambda r: True,
                )
            )
    if not times.reannounce_after or record.reannounced >= times.reannounce_times:
        return out
    if book.ack_of(ref, record) is not None or (
        firing and all(any(mutes(s, a) for s in silences) for a in firing)
    ):
        return out  # someone is on it, or every firing alert is silenced
    base = max(_seconds(record.opened_at), _seconds(record.reannounced_at))
    ack = book.acks.get(ref)
    if ack is not None and ack.episode == episode:
        base = max(base, _seconds(ack.time))  # taken back: the clock starts again
    if now < base + times.reannounce_after:
        return out
    n = record.reannounced + 1
    since = datetime.fromtimestamp(_seconds(record.opened_at) or now, UTC)
    names = ", ".join(alert_names(note))
    doc = reannounce_doc(names, since, short_ref(ref), times.group)

    def unacked(current: AlertMessageRecord) -> bool:
        return current.reannounced == n - 1 and not current.resolved and book.ack_of(ref, current) is None

    out.append(Due("reannounce", f"{REANNOUNCE}{episode}:{n}", doc, unacked))
    return out


class CardNotes:
    """Looks for due notes every `times.tick` seconds while `leader` holds the lease, and posts them."""

    def __init__(
        self,
        *,
        poster: Poster,
        book: CardBook,
        leader: Leader,
        times: NoteTimes,
        metrics: GatewayMetrics | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.poster, self.book, self.leader, self.times = poster, book, leader, times
        self.metrics, self.clock = metrics, clock
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="card-notes")

    async def stop(self) -> None:
        await cancelled(self._task)
        self._task = None

    async def _run(self) -> None:
        await self.book.caught_up()
        while True:
            if await self.leader.step():
                try:
                    await self.round()
                except Exception:  # a bug must not end the notes for good
                    log.exception("cards.notes_failed")
            await asyncio.sleep(self.times.tick)

    async def round(self) -> int:
        """Post every note due now; returns how many were posted."""
        posted = 0
        for ref, record in list(self.book.records.items()):
            if not self.leader.holds():
                break
            note = await self.book.notification(record)
            if note is None:
                continue
            for due in due_notes(ref, record, note, self.book, self.times, self.clock()):
                if due.note_id in record.notes:
                    continue
                try:
                    outcome = await self.poster.note(ref, due.note_id, due.doc, still=due.still)
                except GroupBusy:
                    continue  # next round
                except Exception as exc:
                    log.warning(
                        "cards.note_failed", ref=ref, note=due.note_id, error=f"{type(exc).__name__}: {exc}"
                    )
                    continue
                if self.metrics is not None:
                    self.metrics.card_notes.labels(due.kind, outcome).inc()
                log.info("cards.note", ref=ref, note=due.note_id, outcome=outcome)
                posted += outcome == "posted"
        return posted
