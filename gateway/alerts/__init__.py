"""Alert delivery to the on-call channel, and the silence buttons on those messages."""

from gateway.alerts.actions import AlertSilencer
from gateway.alerts.delivery import AlertDelivery

__all__ = ["AlertDelivery", "AlertSilencer"]
