"""Where the bot takes commands from: its own workspace (or those listed), and optionally some channels.

A Slack app installed in one workspace also hears people from elsewhere: Slack Connect guests in a
shared channel (their messages carry their own workspace in `team`, `user_team` and `source_team`),
and members of other workspaces of an Enterprise Grid org. Every team and enterprise id an event
carries must be allowed, so a guest is refused even inside the bot's own channel.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

DM = "dm"  # in SLACK_ALLOWED_CHANNELS: direct messages with the bot are allowed too

FOREIGN = "Sorry, I only take commands from people in my own workspace."
WRONG_CHANNEL = "Sorry, I don't take commands in this channel."
NO_DMS = "Sorry, I don't take commands in direct messages; ask in the on-call channel."


def _ids(values: Iterable[Any]) -> tuple[str, ...]:
    return tuple(sorted({v for v in values if isinstance(v, str) and v}))


def event_origin(body: Mapping[str, Any], event: Mapping[str, Any]) -> tuple[str, ...]:
    """Every workspace and org id an Events API envelope names: where it happened and who sent it."""
    profile = event.get("user_profile")
    return _ids(
        [
            body.get("team_id"),
            body.get("enterprise_id"),
            event.get("team"),
            event.get("user_team"),
            event.get("source_team"),
            profile.get("team") if isinstance(profile, Mapping) else None,
        ]
    )


def action_origin(body: Mapping[str, Any]) -> tuple[str, ...]:
    """The workspace and org ids of a block_actions payload: the app's, and the clicking user's."""
    user, team, enterprise = (body.get(k) for k in ("user", "team", "enterprise"))
    return _ids(
        [
            team.get("id") if isinstance(team, Mapping) else None,
            team.get("enterprise_id") if isinstance(team, Mapping) else None,
            enterprise.get("id") if isinstance(enterprise, Mapping) else None,
            user.get("team_id") if isinstance(user, Mapping) else None,
        ]
    )


@dataclass(frozen=True)
class Admission:
    """The allowed workspace/org ids, and the allowed channels (empty: every channel, DMs included)."""

    teams: frozenset[str]
    channels: frozenset[str] = frozenset()

    def refusal(self, origin: tuple[str, ...], channel: str = "", direct: bool = False) -> str:
        """Why a message or click from there is refused, in one line; "" when it is welcome."""
        if any(team not in self.teams for team in origin):
            return FOREIGN
        if not self.channels or channel in self.channels:
            return ""
        if direct:
            return "" if DM in self.channels else NO_DMS
        return WRONG_CHANNEL


def admission(
    allowed_teams: tuple[str, ...], own_teams: tuple[str, ...], channels: tuple[str, ...]
) -> Admission:
    """SLACK_ALLOWED_TEAMS when set, else the bot's own workspace and org (from auth.test)."""
    teams = allowed_teams or own_teams
    return Admission(frozenset(teams), frozenset(c.lower() if c.lower() == DM else c for c in channels))
