"""Alert delivery to the on-call channel, and the silence buttons on those messages."""

from gateway.alerts.actions import register_alert_actions
from gateway.alerts.delivery import AlertDelivery

__all__ = ["AlertDelivery", "register_alert_actions"]
