"""alerts.list: Prometheus's active alerts, filtered by labels, state and active-since."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from google.protobuf.timestamp_pb2 import Timestamp

from chatops.v1 import alerts_pb2
from ops.alertfilter import LabelFilter, parse_filters
from ops.backends.prometheus import PromAlert
from ops.context import CallContext
from ops.deps import Deps

_STATES = {"firing": alerts_pb2.ALERT_STATE_FIRING, "pending": alerts_pb2.ALERT_STATE_PENDING}


def _active_ns(text: str) -> int:
    try:
        return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1e9)
    except ValueError:
        return 0


def select(
    alerts: Sequence[PromAlert], filters: Sequence[LabelFilter], state: int, since_ns: int
) -> alerts_pb2.ListAlertsReply:
    """Filter and order alerts: firing before pending, then oldest first (pure)."""
    chosen: list[tuple[int, int, alerts_pb2.Alert]] = []
    for a in alerts:
        labels = dict(a.labels)
        a_state = _STATES.get(a.state, alerts_pb2.ALERT_STATE_UNSPECIFIED)
        active = _active_ns(a.active_at)
        if state and a_state != state:
            continue
        if since_ns and active < since_ns:
            continue  # as in the seed: only alerts that became active at or after T
        if not all(f.matches(labels) for f in filters):
            continue
        ts = Timestamp()
        ts.FromNanoseconds(active)
        alert = alerts_pb2.Alert(
            name=labels.get("alertname", ""),
            labels=labels,
            annotations=dict(a.annotations),
            state=a_state,
            active_at=ts,
            value=a.value,
        )
        rank = 0 if a_state == alerts_pb2.ALERT_STATE_FIRING else 1
        chosen.append((rank, active, alert))
    chosen.sort(key=lambda x: (x[0], x[1]))
    return alerts_pb2.ListAlertsReply(alerts=[a for _, _, a in chosen])


async def list_alerts(
    deps: Deps, ctx: CallContext, req: alerts_pb2.ListAlertsRequest
) -> alerts_pb2.ListAlertsReply:
    """Filters are parsed before Prometheus is asked."""
    filters = parse_filters(req.labels)
    since = req.active_since.ToNanoseconds() if req.HasField("active_since") else 0
    return select(await deps.prometheus.alerts(), filters, req.state, since)
