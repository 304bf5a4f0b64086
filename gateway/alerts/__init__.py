"""Alert delivery to the on-call channel, and the silence buttons on those messages."""

from gateway.alerts.actions import AlertSilencer
from gateway.alerts.delivery import AlertDelivery
from gateway.alerts.graphs import AlertGraphs

__all__ = ["AlertDelivery", "AlertGraphs", "AlertSilencer"]
