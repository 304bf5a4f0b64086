"""Recent changes for a card: the deploys of the alert's service in the hour before it fired, read
from CHATOPS_DEPLOYS (each deploy event repeats who, from and to, so the latest one says it all)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from nats.js import JetStreamContext

from chatops import codec, logs
from chatops.codec import CodecError
from chatops.streamread import read
from chatops.subjects import DEPLOYS_PREFIX, DEPLOYS_STREAM, token
from chatops.v1 import deploys_pb2 as pb
from gateway.alerts.card import DeployShown, person

log = logs.get_logger(__name__)

SERVICE_LABELS = ("service", "job")  # the label that names the service an alert is about, in order
SCAN = 500  # deploy events read for one card at most
CACHE_FOR = 30.0  # seconds one look-up is reused: a storm of card events reads the stream once
_OUTCOMES = {
    pb.DEPLOY_STEP_PROMOTED: "promoted",
    pb.DEPLOY_STEP_ROLLED_BACK: "rolled back",
    pb.DEPLOY_STEP_FAILED: "failed",
}


def service_of(labels: Mapping[str, str]) -> str:
    """The service an alert is about: its `service` label, else its `job`."""
    return next((labels[k] for k in SERVICE_LABELS if labels.get(k)), "")


def summarise(events: list[pb.DeployEvent], start: datetime, end: datetime) -> tuple[DeployShown, ...]:
    """The deploys requested within [start, end], each as its latest event says, newest first (pure)."""
    latest: dict[str, pb.DeployEvent] = {}
    for event in events:
        latest[event.deploy_id] = event  # events come in stream order
    shown = []
    for event in latest.values():
        asked = event.requested_at.ToDatetime(tzinfo=UTC) if event.HasField("requested_at") else None
        if asked is None or not start <= asked <= end or event.kind == pb.DEPLOY_KIND_INSTALL:
            continue
        change = f"{event.from_version} → {event.to_version}" if event.from_version else event.to_version
        shown.append(
            DeployShown(
                service=event.service,
                change=change,
                by=person(event.actor, event.actor_name),
                outcome=_OUTCOMES.get(event.step, "in progress"),
                at=asked,
            )
        )
    return tuple(sorted(shown, key=lambda d: d.at, reverse=True))


class RecentChanges:
    """Looks deploys up for cards, reusing a look-up for CACHE_FOR seconds."""

    def __init__(self, js: JetStreamContext, window: timedelta) -> None:
        self.js, self.window = js, window
        self._cache: dict[tuple[str, datetime], tuple[float, tuple[DeployShown, ...]]] = {}

    async def before(self, service: str, fired: datetime) -> tuple[DeployShown, ...]:
        """The service's deploys requested in the window before `fired`; none when it cannot tell."""
        if not service:
            return ()
        key = (service, fired)
        cached = self._cache.get(key)
        if cached is not None and time.monotonic() - cached[0] < CACHE_FOR:
            return cached[1]
        start = fired - self.window
        try:
            found = await read(
                self.js,
                DEPLOYS_STREAM,
                f"{DEPLOYS_PREFIX}.{token(service)}.>",
                since_ns=int(start.timestamp() * 1e9),
                limit=SCAN,
            )
        except Exception as exc:  # the card is shown without its recent changes rather than not at all
            log.warning("cards.changes_unread", service=service, error=f"{type(exc).__name__}: {exc}")
            return ()
        events = []
        for msg in found.msgs:
            try:
                events.append(codec.decode(msg.data or b"", pb.DeployEvent))
            except CodecError:
                continue
        shown = summarise(events, start, fired)
        if len(self._cache) > 1000:
            self._cache.clear()
        self._cache[key] = (time.monotonic(), shown)
        return shown
