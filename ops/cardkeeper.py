"""Cards open longer than CHATOPS_CARDS keeps events: their state appended again before it ages out.

CHATOPS_CARDS drops events older than its age limit (ALERTS_MAX_AGE, 30 days), and the latest event
on a subject is the state of its card or silence. An alert that fires for longer (a disk filling
slowly, a certificate about to expire) would lose its ack with it: a gateway that starts then reads no
ack and draws the card as if nobody were on it. So ops appends a copy (`renewed_at` set, nothing else
changed) of the latest ack of every open card, and of the latest state of every silence that has not
ended, once half the age limit has passed since it was stored. Closed cards and ended silences are
left alone and age out as before: the stream gains at most one copy per open card and live silence per
half age limit.

Every ops replica looks, every tenth of the age limit (at most hourly); a copy is appended only while
the event it copies is still the latest on its subject (Nats-Expected-Last-Subject-Sequence), under
one Nats-Msg-Id per copied event, so replicas looking at once, or an ack landing meanwhile, make one
copy or none.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from chatops import codec, logs
from chatops.cardref import in_force
from chatops.lifecycle import cancelled
from chatops.streamread import read, sequence
from chatops.subjects import CARDS_SILENCES, CARDS_STREAM, ack_subject
from chatops.v1.cards_pb2 import AckEvent, SilenceEvent
from ops.cards import CardLog, Stored

log = logs.get_logger(__name__)

RENEW_AFTER = 0.5  # of the age limit: an event stored this long ago is appended again
LOOK_EVERY = 0.1  # of the age limit, between looks
LONGEST_PAUSE = 3600.0
SHORTEST_PAUSE = 0.5
MAX_SILENCES = 5000  # silences one look reads at most


@dataclass(frozen=True)
class Renewed:
    """How many copies one look appended."""

    acks: int = 0
    silences: int = 0


def pause(max_age: float) -> float:
    """Seconds between looks on a stream that keeps events `max_age` seconds (0: none ages out)."""
    if max_age <= 0:
        return LONGEST_PAUSE
    return min(LONGEST_PAUSE, max(SHORTEST_PAUSE, max_age * LOOK_EVERY))


def _live(silence: SilenceEvent, now: float) -> bool:
    return silence.state != "expired" and silence.ends_at.ToNanoseconds() / 1e9 > now


class CardKeeper:
    """Appends again the state of open cards and live silences that would soon age out."""

    def __init__(
        self, js: JetStreamContext, cards: CardLog, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.js, self.cards, self.clock = js, cards, clock
        self._task: asyncio.Task[None] | None = None
        self._failing = False

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="card-keeper")

    async def stop(self) -> None:
        await cancelled(self._task)
        self._task = None

    async def _run(self) -> None:
        while True:
            max_age = 0.0
            try:
                max_age = await self.max_age()
                if max_age > 0:
                    await self.renew(max_age)
            except Exception as exc:  # the bus is away: say it once, look again later
                if not self._failing:
                    log.warning("cards.renew_failed", error=f"{type(exc).__name__}: {exc}")
                self._failing = True
            else:
                if self._failing:
                    log.info("cards.renew_recovered")
                self._failing = False
            await asyncio.sleep(pause(max_age))

    async def max_age(self) -> float:
        """CHATOPS_CARDS' age limit in seconds (0: it has none, or it is not there)."""
        try:
            info = await self.js.stream_info(CARDS_STREAM)
        except NotFoundError:
            return 0.0
        return float(info.config.max_age or 0.0)

    async def renew(self, max_age: float) -> Renewed:
        """Look once: append a copy of each open card's ack and each live silence stored more than half
        of `max_age` ago."""
        due = self.clock() - max_age * RENEW_AFTER
        acks = 0
        for card in await self.cards.cards():
            if not card.record.ts or card.record.resolved:
                continue  # not posted yet, or closed: its ack may age out
            latest = await self.cards.latest(ack_subject(card.ref))
            if latest is None or latest.stored > due:
                continue
            ack = in_force(
                codec.decode_record(latest.data, AckEvent, key=latest.subject, required=()), card.record
            )
            if ack is not None:
                acks += await self._again(latest, ack)
        silences = 0
        found = await read(
            self.js, CARDS_STREAM, f"{CARDS_SILENCES}.>", last_per_subject=True, limit=MAX_SILENCES
        )
        for msg in found.msgs:
            latest = Stored(msg.subject, msg.data or b"", sequence(msg), msg.metadata.timestamp.timestamp())
            if latest.stored > due:
                continue
            silence = codec.decode_record(latest.data, SilenceEvent, key=latest.subject, required=())
            if silence is not None and _live(silence, self.clock()):
                silences += await self._again(latest, silence)
        if acks or silences:
            log.info("cards.renewed", acks=acks, silences=silences)
        return Renewed(acks, silences)

    async def _again(self, latest: Stored, event: AckEvent | SilenceEvent) -> int:
        event.ClearField("sequence")
        event.renewed_at.FromNanoseconds(int(self.clock() * 1e9))
        return int(await self.cards.append_again(latest, codec.encode(event)))
