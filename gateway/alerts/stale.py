"""Is a firing notification that arrives after its group resolved news, or an old snapshot?

Notifications of a group are ordered by when the notifier received them, and that is right as long as
Alertmanager sends them in order. With an HA pair it may not: when a group's first sends fail (NATS
electing a leader), a firing snapshot taken then can arrive after the group's resolve. Taken for a new
firing, it would post the group again, and that message would stay firing. The alerts themselves
tell: an alert that fires again starts again, after it ended; a snapshot's alerts started before the
resolve that is shown says they ended.
"""

from __future__ import annotations

from nats.js import JetStreamContext

from chatops import codec, logs
from chatops.subjects import ALERTS_STREAM
from chatops.v1.events_pb2 import AlertNotification
from chatops.v1.records_pb2 import AlertMessageRecord

log = logs.get_logger(__name__)


def old_snapshot(incoming: AlertNotification, shown: AlertNotification) -> bool:
    """Every firing alert of `incoming` is one `shown` has seen end no earlier than it started (same
    fingerprint): nothing in it is new. An alert `shown` does not know, or one that started again
    after it ended, makes it news (so in doubt it is shown: nothing is lost)."""
    ended = {
        a.fingerprint: a.ends_at.ToNanoseconds()
        for a in shown.alerts
        if a.status == "resolved" and a.fingerprint and a.HasField("ends_at")
    }
    firing = [a for a in incoming.alerts if a.status == "firing"]
    return bool(firing) and all(
        a.fingerprint in ended and a.starts_at.ToNanoseconds() <= ended[a.fingerprint] for a in firing
    )


async def shown_notification(js: JetStreamContext, record: AlertMessageRecord) -> AlertNotification | None:
    """The notification a group's message shows, from CHATOPS_ALERTS; None when it cannot be read
    (aged out, the stream made again)."""
    if not record.applied_seq:
        return None
    try:
        raw = await js.get_msg(ALERTS_STREAM, record.applied_seq)
        note = codec.decode(raw.data or b"", AlertNotification)
    except Exception as exc:  # any failure to read means "do not know": the notification is shown
        log.warning("alerts.shown_unread", seq=record.applied_seq, error=f"{type(exc).__name__}: {exc}")
        return None
    if record.applied_id and note.notification_id != record.applied_id:
        return None
    return note
