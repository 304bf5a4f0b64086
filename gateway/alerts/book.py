"""Each gateway replica's projection of what alert cards show, rebuilt from the bus alone.

It follows CHATOPS_CARDS (every card's latest ack event, every silence's latest state) and the
bucket chatops_alert_messages (where each open card is, which notification it shows) from the last
message of each subject on, so a replica that starts knows what every other one knows. `view()`
turns that, the notification a card shows and the recent deploys into what the card shows besides
the notification; `on_change` hears which cards a new event changed, for the refresher.

It keeps only what a card can still show (`prune`), so a gateway that runs for months holds as many
acks and silences as there are open cards, plus the last GRACE seconds' worth: an ack while its
card's episode is open (a card it does not hold open reads its ack from the stream, as a replica
that starts would), a silence until it ended GRACE ago and mutes or muted no open card's alerts.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from chatops import codec, logs
from chatops.cardref import episode_of, firing, in_force
from chatops.codec import CodecError
from chatops.streams import kv_stream
from chatops.subjects import (
    ALERTS_STREAM,
    CARDS_ACKS,
    CARDS_PREFIX,
    CARDS_SILENCES,
    CARDS_STREAM,
    KV_ALERT_MESSAGES,
    ack_subject,
)
from chatops.userregex import RegexError, compile_regex
from chatops.v1 import cards_pb2 as pb
from chatops.v1.alerts_pb2 import Matcher
from chatops.v1.events_pb2 import AlertInstance, AlertNotification
from chatops.v1.records_pb2 import AlertMessageRecord
from gateway.alerts.card import Ack, CardView, Person, SilenceShown, person
from gateway.alerts.changes import RecentChanges, service_of
from gateway.alerts.follow import Follower
from gateway.alerts.render import key_of

log = logs.get_logger(__name__)

# Notifications open cards show, kept as the bytes the bus holds (a decoded one takes about six times
# the room) up to this many bytes in all: a storm of big notifications cannot grow the gateway.
NOTES_CACHE_BYTES = 2 << 20
# How long an ack of no open card and an ended silence are kept: far longer than a card's record can
# take to reach this replica after its ack, or a new notification after a silence that touches it.
GRACE = 3600.0
PRUNE_EVERY = 60.0  # seconds between looks for what no card can show any more


def matches(matchers: Iterable[Matcher], labels: dict[str, str]) -> bool:
    """Whether a silence's matchers match an alert's labels, as Alertmanager matches them (pure)."""
    for m in matchers:
        value = labels.get(m.name, "")
        if m.is_regex:
            try:
                hit = compile_regex(m.value).fullmatch(value) is not None
            except RegexError:
                return False
        else:
            hit = value == m.value
        if hit != m.is_equal:
            return False
    return True


def _at(ts: object) -> datetime:
    return ts.ToDatetime(tzinfo=UTC)  # type: ignore[attr-defined,no-any-return]


def _seconds(ts: object) -> float:
    return float(ts.ToNanoseconds()) / 1e9  # type: ignore[attr-defined]


def ended_at(event: pb.SilenceEvent) -> float:
    """When the silence ends or ended, in seconds since the epoch (an expired one: when it was seen
    expired, if that was before its planned end)."""
    end = _seconds(event.ends_at)
    if event.state == "expired" and event.HasField("time"):
        return min(end, _seconds(event.time))
    return end


def maker(event: pb.SilenceEvent) -> Person:
    """Who made a silence: the chat actor ops recorded, else Alertmanager's createdBy (as data)."""
    return person(event.actor, event.actor_name) if event.actor else Person(name=event.created_by)


def mutes(event: pb.SilenceEvent, alert: AlertInstance) -> bool:
    """Whether the silence mutes this firing of the alert now: as the watcher saw it in Alertmanager,
    or, before it has looked, by the matchers."""
    if event.state != "active":
        return False
    if not event.observed:
        return matches(event.matchers, dict(alert.labels))
    key = key_of(alert)
    return any(a.muted and firing(a.fingerprint, a.starts_at) == key for a in event.alerts)


def touches(event: pb.SilenceEvent, alerts: Iterable[AlertInstance]) -> bool:
    """Whether the silence mutes or muted any of these alerts (this firing of them)."""
    keys = {key_of(a) for a in alerts}
    if not event.observed:
        return any(matches(event.matchers, dict(a.labels)) for a in alerts)
    return any(firing(a.fingerprint, a.starts_at) in keys for a in event.alerts)


class CardBook:
    """What every card shows besides its notification, as this replica has read it from the bus."""

    def __init__(
        self,
        js: JetStreamContext,
        *,
        window: timedelta = timedelta(hours=1),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.js, self.clock = js, clock
        self.changes = RecentChanges(js, window)
        self.window = window
        self.records: dict[str, AlertMessageRecord] = {}  # open cards only
        self.acks: dict[str, pb.AckEvent] = {}
        self.silences: dict[str, pb.SilenceEvent] = {}
        self._notes: OrderedDict[tuple[int, str], bytes] = OrderedDict()
        self._notes_bytes = 0
        self._pruned_at = -math.inf
        self.on_change: Callable[[set[str]], None] = lambda refs: None
        self._cards = Follower(js, CARDS_STREAM, f"{CARDS_PREFIX}.>", self._on_cards)
        self._records = Follower(
            js, kv_stream(KV_ALERT_MESSAGES), f"$KV.{KV_ALERT_MESSAGES}.>", self._on_records
        )

    def start(self) -> None:
        self._records.start()
        self._cards.start()

    async def stop(self) -> None:
        await self._cards.stop()
        await self._records.stop()

    async def caught_up(self) -> None:
        """Until everything on the bus when it started is read."""
        await self._records.caught_up.wait()
        await self._cards.caught_up.wait()
        await self._prune_due()

    # -- following ----------------------------------------------------------------------------------
    async def _on_records(self, msgs: list[Msg]) -> None:
        opened: set[str] = set()
        for msg in msgs:
            ref = msg.subject.rsplit(".", 1)[-1]
            deleted = (msg.headers or {}).get("KV-Operation") in ("DEL", "PURGE")
            record = (
                None
                if deleted
                else codec.decode_record(msg.data or b"", AlertMessageRecord, key=ref, required=())
            )
            if record is None or record.resolved or not record.ts:
                self.records.pop(ref, None)
                continue
            known = self.records.get(ref)
            if known is None or episode_of(known) != episode_of(record):
                opened.add(ref)
            self.records[ref] = record
        # A card posted while a silence event raced it was drawn without the silence: draw it again
        # (a card that shows the same already costs no chat call).
        if (
            opened
            and self._records.caught_up.is_set()
            and any(s.state != "expired" for s in self.silences.values())
        ):
            self.on_change(opened)
        await self._prune_due()

    async def _on_cards(self, msgs: list[Msg]) -> None:
        changed: set[str] = set()
        for msg in msgs:
            try:
                if msg.subject.startswith(CARDS_ACKS + "."):
                    ack = codec.decode(msg.data or b"", pb.AckEvent)
                    self.acks[ack.ref] = ack
                    changed.add(ack.ref)
                elif msg.subject.startswith(CARDS_SILENCES + "."):
                    silence = codec.decode(msg.data or b"", pb.SilenceEvent)
                    self.silences[silence.silence_id] = silence
                    changed |= await self._touched(silence)
            except CodecError as exc:
                log.warning("cards.event_unreadable", subject=msg.subject, error=str(exc))
        if changed:
            self.on_change(changed)
        await self._prune_due()

    async def _touched(self, silence: pb.SilenceEvent) -> set[str]:
        found = set()
        for ref, record in list(self.records.items()):
            note = await self.notification(record)
            if note is not None and touches(silence, note.alerts):
                found.add(ref)
        return found

    # -- forgetting ---------------------------------------------------------------------------------
    def _caught_up(self) -> bool:
        return self._records.caught_up.is_set() and self._cards.caught_up.is_set()

    def _open(self, ref: str, episode: str) -> bool:
        """Whether the card's episode is open here, so that `acks` holds its ack if it has one."""
        record = self.records.get(ref)
        return self._caught_up() and record is not None and episode_of(record) == episode

    async def _prune_due(self) -> None:
        if self.clock() - self._pruned_at >= PRUNE_EVERY:
            await self.prune()

    async def prune(self) -> tuple[int, int]:
        """Drop the acks and silences no card can show any more; returns how many of each.

        Nothing is dropped before both followers have read what the bus held when they started: what
        is kept is then what a replica that starts now keeps, from the same bus."""
        if not self._caught_up():
            return 0, 0
        now = self.clock()
        self._pruned_at = now
        acks = [
            ref
            for ref, ack in self.acks.items()
            if not self._open(ref, ack.episode) and _seconds(ack.time) < now - GRACE
        ]
        for ref in acks:
            del self.acks[ref]
        ended = {s.silence_id: s for s in self.silences.values() if ended_at(s) < now - GRACE}
        for record in list(self.records.values()):
            if not ended:
                break
            note = await self.notification(record)
            if note is not None:
                ended = {k: s for k, s in ended.items() if not touches(s, note.alerts)}
        dropped = 0
        for silence_id, silence in ended.items():
            if self.silences.get(silence_id) is silence:  # not changed by an event read meanwhile
                del self.silences[silence_id]
                dropped += 1
        if acks or dropped:
            log.info(
                "cards.pruned",
                acks=len(acks),
                silences=dropped,
                kept_acks=len(self.acks),
                kept_silences=len(self.silences),
            )
        return len(acks), dropped

    # -- reading ------------------------------------------------------------------------------------
    async def notification(self, record: AlertMessageRecord) -> AlertNotification | None:
        """The notification the card shows, from CHATOPS_ALERTS (None when it is no longer there)."""
        key = (record.applied_seq, record.applied_id)
        cached = self._notes.get(key)
        if cached is not None:
            self._notes.move_to_end(key)
            return codec.decode(cached, AlertNotification)
        try:
            raw = await self.js.get_msg(ALERTS_STREAM, record.applied_seq)
            data = raw.data or b""
            note = codec.decode(data, AlertNotification)
        except Exception as exc:  # aged out, or the stream was made again
            log.warning(
                "cards.notification_unread", seq=record.applied_seq, error=f"{type(exc).__name__}: {exc}"
            )
            return None
        if record.applied_id and note.notification_id != record.applied_id:
            return None  # CHATOPS_ALERTS was made again: that sequence holds another notification now
        self._notes[key] = data
        self._notes_bytes += len(data)
        while self._notes_bytes > NOTES_CACHE_BYTES and len(self._notes) > 1:
            self._notes_bytes -= len(self._notes.popitem(last=False)[1])
        return note

    def ack_of(self, ref: str, record: AlertMessageRecord) -> pb.AckEvent | None:
        """The ack in force on the card's episode, if any."""
        return in_force(self.acks.get(ref), record)

    async def ack_for(self, ref: str, record: AlertMessageRecord) -> pb.AckEvent | None:
        """`ack_of` for any card: the ack of one not open here may have been dropped (`prune`), so it is
        read from the stream, as a replica that starts now would read it."""
        if ref in self.acks or self._open(ref, episode_of(record)):
            return self.ack_of(ref, record)
        try:
            raw = await self.js.get_last_msg(CARDS_STREAM, ack_subject(ref))
        except NotFoundError:
            return None
        return in_force(codec.decode_record(raw.data or b"", pb.AckEvent, key=ref, required=()), record)

    def silences_of(self, note: AlertNotification) -> list[pb.SilenceEvent]:
        """Every silence that mutes or muted an alert of the card."""
        return [s for s in self.silences.values() if touches(s, note.alerts)]

    async def view(self, ref: str, record: AlertMessageRecord | None, note: AlertNotification) -> CardView:
        """What the card shows besides `note`; `record` is None for a card not yet posted."""
        ack = await self.ack_for(ref, record) if record is not None else None
        live = [a for a in note.alerts if a.status == "firing"]
        shown, resolved = [], []
        for silence in self.silences_of(note):
            muted = sum(1 for a in live if mutes(silence, a))
            if muted:
                shown.append(
                    SilenceShown(
                        silence_id=silence.silence_id,
                        by=maker(silence),
                        until=_at(silence.ends_at),
                        url=silence.url,
                        muted=muted,
                        from_chat=bool(silence.actor),
                    )
                )
            resolved += [
                (firing(a.fingerprint, a.starts_at), _at(a.resolved_at))
                for a in silence.alerts
                if a.HasField("resolved_at")
            ]
        keys = {key_of(a) for a in live}
        service = service_of(note.common_labels)
        deploys = await self.changes.before(service, self.fired(record, note)) if service else ()
        return CardView(
            ref=ref,
            ack=Ack(person(ack.actor, ack.actor_name), _at(ack.time)) if ack is not None else None,
            silences=tuple(sorted(shown, key=lambda s: s.until)),
            resolved=tuple(sorted((k, at) for k, at in resolved if k in keys)),
            deploys=deploys,
            service=service,
            window=self.window,
        )

    @staticmethod
    def fired(record: AlertMessageRecord | None, note: AlertNotification) -> datetime:
        """When the episode's first alert started firing."""
        if record is not None and record.HasField("fired_at"):
            return _at(record.fired_at)
        starts = [_at(a.starts_at) for a in note.alerts if a.HasField("starts_at")]
        return min(starts) if starts else datetime.now(UTC)
