"""Which channel a notification goes to: SLACK_ALERT_ROUTES by label, else the on-call channel."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass


class RouteError(ValueError):
    """A SLACK_ALERT_ROUTES entry that is not `label=value:CHANNEL`."""


@dataclass(frozen=True)
class Route:
    """Notifications whose common label `label` equals `value` go to `channel`."""

    label: str
    value: str
    channel: str

    def matches(self, labels: Mapping[str, str]) -> bool:
        return labels.get(self.label) == self.value


def parse_routes(entries: Iterable[str]) -> tuple[Route, ...]:
    """Parse `team=payments:C0PAYMENTS` entries; RouteError names the bad one."""
    routes = []
    for entry in entries:
        matcher, sep, channel = entry.rpartition(":")
        label, eq, value = matcher.partition("=")
        if not sep or not eq or not label.strip() or not channel.strip():
            raise RouteError(f"SLACK_ALERT_ROUTES: {entry!r} is not label=value:CHANNEL")
        routes.append(Route(label.strip(), value.strip(), channel.strip()))
    return tuple(routes)


def channel_for(labels: Mapping[str, str], routes: Iterable[Route], default: str) -> str:
    """The first matching route's channel, else `default`."""
    return next((r.channel for r in routes if r.matches(labels)), default)
