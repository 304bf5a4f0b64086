"""The silence watcher: Alertmanager's silences and the alerts they mute, turned into events.

Alertmanager says nothing when a silence starts, is changed or ends, and sends no notification for
an alert that resolves while silenced. One ops replica (the holder of the lease `ops.silence-watch`
in chatops_leases) asks its API every SILENCE_WATCH_INTERVAL seconds and appends a SilenceEvent to
CHATOPS_CARDS for every change it sees: made (amtool and the UI included), changed, muting new
alerts, an alert it muted gone from Alertmanager (resolved), ended. Its memory is the events
themselves: a silence it has not seen yet is looked up by its subject (so the chat actor ops
recorded when it made the silence is kept), and a change's Nats-Msg-Id is a digest of the state it
records, so two replicas that both think they lead during a hand-over append it once.

An Alertmanager that (re)started less than SILENCE_WATCH_GRACE seconds ago has lost the alerts it held
until Prometheus sends them again: alerts missing from it then are not taken as resolved.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable, Iterable
from datetime import datetime

from google.protobuf.timestamp_pb2 import Timestamp

from chatops import logs
from chatops.cardref import Firing, firing
from chatops.lease import Leader
from chatops.lifecycle import cancelled
from chatops.v1 import cards_pb2 as pb
from chatops.v1.alerts_pb2 import Matcher
from ops.backends.alertmanager import AlertmanagerBackend, AmAlert, Silence
from ops.cards import CardLog

log = logs.get_logger(__name__)

MAX_ALERTS = 200  # alerts one silence event lists at most


def _stamp(moment: datetime | int) -> Timestamp:
    ts = Timestamp()
    if isinstance(moment, datetime):
        ts.FromDatetime(moment)
    else:
        ts.FromNanoseconds(moment)
    return ts


def _key(alert: pb.SilencedAlert) -> Firing:
    return firing(alert.fingerprint, alert.starts_at)


def _am_key(alert: AmAlert) -> Firing:
    return firing(alert.fingerprint, _stamp(alert.starts_at))


def next_event(
    last: pb.SilenceEvent | None,
    silence: Silence,
    muted: Iterable[AmAlert],
    present: set[Firing],
    *,
    young: bool,
    now_ns: int,
    url: str,
) -> pb.SilenceEvent | None:
    """The event recording what changed since `last` (None when nothing did) (pure).

    `muted`: the alerts Alertmanager says this silence mutes now; `present`: every alert it holds.
    """
    if last is None and silence.state == "expired":
        return None  # it ended before anyone watched: nothing to say about it
    changes: list[pb.SilenceChange] = []
    alerts: dict[Firing, pb.SilencedAlert] = {}
    for known in last.alerts if last is not None else ():
        kept = pb.SilencedAlert()
        kept.CopyFrom(known)
        alerts[_key(known)] = kept
    for alert in muted:
        key = _am_key(alert)
        entry = alerts.get(key)
        if entry is None or not entry.muted:
            if entry is None:
                changes.append(pb.SILENCE_CHANGE_MUTED)
            entry = pb.SilencedAlert(
                fingerprint=alert.fingerprint,
                starts_at=_stamp(alert.starts_at),
                alertname=dict(alert.labels).get("alertname", ""),
                muted=True,
            )
            alerts[key] = entry
    now_muted = {_am_key(a) for a in muted}
    for key, entry in alerts.items():
        if not entry.muted or key in now_muted:
            continue
        if key not in present and silence.state == "active" and not young:
            entry.muted = False
            entry.resolved_at.CopyFrom(_stamp(now_ns))
            changes.append(pb.SILENCE_CHANGE_RESOLVED)
        elif key in present or silence.state == "expired":
            entry.muted = False  # still firing, no longer muted by this silence (it ended, or was changed)
    if last is None:
        changes.insert(0, pb.SILENCE_CHANGE_CREATED)
    elif last.state != "expired" and silence.state == "expired":
        changes.append(pb.SILENCE_CHANGE_ENDED)
    elif last.state == silence.state and (
        last.ends_at.ToNanoseconds() != int(silence.ends_at.timestamp() * 1e9)
        or last.comment != silence.comment
        or [(m.name, m.value, m.is_regex, m.is_equal) for m in last.matchers]
        != [(m.name, m.value, m.is_regex, m.is_equal) for m in silence.matchers]
    ):
        changes.append(pb.SILENCE_CHANGE_CHANGED)
    elif last.state != silence.state:
        changes.append(pb.SILENCE_CHANGE_CHANGED)  # pending -> active
    listed = sorted(alerts.values(), key=lambda a: (not a.muted, -a.starts_at.ToNanoseconds()))[:MAX_ALERTS]
    if not changes and last is not None and last.observed and list(last.alerts) == listed:
        return None
    return pb.SilenceEvent(
        silence_id=silence.id,
        matchers=[
            Matcher(name=m.name, value=m.value, is_regex=m.is_regex, is_equal=m.is_equal)
            for m in silence.matchers
        ],
        starts_at=_stamp(silence.starts_at),
        ends_at=_stamp(silence.ends_at),
        created_by=silence.created_by,
        comment=silence.comment,
        state=silence.state,
        changes=list(dict.fromkeys(changes)),
        actor=last.actor if last is not None else "",
        actor_name=last.actor_name if last is not None else "",
        alerts=listed,
        observed=True,
        time=_stamp(now_ns),
        url=url,
    )


def msg_id(event: pb.SilenceEvent) -> str:
    """The same state of the same silence is appended once, whichever replica sees it."""
    state = pb.SilenceEvent()
    state.CopyFrom(event)
    state.ClearField("time")
    state.ClearField("changes")
    state.ClearField("sequence")
    for alert in state.alerts:
        alert.ClearField("resolved_at")  # its time is when a replica looked, not what it saw
    digest = hashlib.sha256(state.SerializeToString(deterministic=True)).hexdigest()[:32]
    return f"silence:{event.silence_id}:{digest}"


class SilenceWatch:
    """Polls Alertmanager while `leader` holds the lease; appends the changes it sees."""

    def __init__(
        self,
        *,
        alertmanager: AlertmanagerBackend,
        cards: CardLog,
        leader: Leader,
        interval: float,
        grace: float,
        public_url: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.am, self.cards, self.leader = alertmanager, cards, leader
        self.interval, self.grace, self.public_url, self.clock = (
            interval,
            grace,
            public_url.rstrip("/"),
            clock,
        )
        self._known: dict[str, pb.SilenceEvent | None] = {}
        self._task: asyncio.Task[None] | None = None
        self._failing = False
        self.polls = 0  # completed polls (tests wait on it)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="silence-watch")

    async def stop(self) -> None:
        await cancelled(self._task)
        self._task = None

    async def _run(self) -> None:
        while True:
            if await self.leader.step():
                try:
                    await self.poll()
                except Exception as exc:  # Alertmanager or the bus is away: say it once, keep trying
                    if not self._failing:
                        log.warning("silences.watch_failed", error=f"{type(exc).__name__}: {exc}")
                    self._failing = True
                else:
                    if self._failing:
                        log.info("silences.watch_recovered")
                    self._failing = False
            else:
                self._known.clear()  # another replica leads; when we lead again, we read the events anew
            await asyncio.sleep(self.interval)

    async def poll(self) -> int:
        """Look once; returns how many events were appended."""
        silences = await self.am.silences()
        alerts = await self.am.alerts()
        young = self.clock() - (await self.am.started_at()).timestamp() < self.grace
        present = {_am_key(a) for a in alerts}
        now_ns = int(self.clock() * 1e9)
        appended = 0
        for silence in silences:
            if silence.id not in self._known:
                self._known[silence.id] = await self.cards.last_silence(silence.id)
            muted = [a for a in alerts if silence.id in a.silenced_by]
            event = next_event(
                self._known[silence.id],
                silence,
                muted,
                present,
                young=young,
                now_ns=now_ns,
                url=f"{self.public_url}/#/silences/{silence.id}",
            )
            if event is None:
                continue
            if await self.cards.append_silence(event, msg_id(event)):
                appended += 1
                log.info(
                    "silences.changed",
                    silence_id=silence.id,
                    state=silence.state,
                    changes=",".join(pb.SilenceChange.Name(c) for c in event.changes),
                )
            self._known[silence.id] = event
        for gone in set(self._known) - {s.id for s in silences}:
            del self._known[gone]  # Alertmanager no longer keeps it
        self.polls += 1
        return appended
