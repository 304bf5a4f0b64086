"""The notifier's settings: the bearer token Alertmanager sends, where to listen, the body limit."""

from __future__ import annotations

from pydantic import Field

from chatops.settings import BusSettings, HostPort, RequiredSecret


class NotifierSettings(BusSettings):
    """NOTIFIER_TOKEN is required: an open webhook would let anyone page the on-call channel."""

    NOTIFIER_TOKEN: RequiredSecret
    NOTIFIER_LISTEN: HostPort = "127.0.0.1:9095"
    NOTIFIER_MAX_BODY: int = Field(default=1 << 20, gt=0, le=64 << 20)
