"""Who runs a command: the actor its sender may claim (chatops.identity), the Chatops-* headers, and the
admin rule for commands that change things."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from chatops.actors import UNKNOWN
from chatops.admins import is_admin
from chatops.errors import FORBIDDEN
from chatops.identity import Roster, resolve
from chatops.subjects import (
    H_ACTOR,
    H_ACTOR_NAME,
    H_CHANNEL,
    H_REFUSED,
    H_REQUEST_ID,
    H_REQUEST_INFO,
    H_SOURCE,
    H_TRACEPARENT,
)
from ops.errors import OpsError

REFUSAL_LIMIT = 500  # characters of a front end's refusal that ops records


def _header(headers: Mapping[str, str], name: str) -> str:
    """`headers` with lowercase keys."""
    return headers.get(name.lower(), "").strip()


@dataclass(frozen=True)
class CallContext:
    """The caller of one command: the actor as decided from who sent it, and the other headers."""

    actor: str = UNKNOWN
    actor_name: str = ""
    channel: str = ""
    source: str = ""
    request_id: str = ""
    traceparent: str = ""
    verified: bool = False  # the server named the sender and the roster knows it
    sender: str = ""  # that identity's name
    claimed: str = ""  # a Chatops-Actor the sender may not claim, kept for the audit log
    refused: str = ""  # the front end refused it already (Chatops-Refused): record it, run nothing

    @classmethod
    def from_headers(cls, headers: Mapping[str, str] | None, roster: Roster | None = None) -> CallContext:
        """Read a request; without a roster no sender is known, so nobody acts as an admin."""
        h = {key.lower(): value for key, value in (headers or {}).items()}
        who = resolve(_header(h, H_ACTOR), (roster or Roster()).sender_of(h.get(H_REQUEST_INFO.lower(), "")))
        return cls(
            actor=who.actor,
            actor_name=_header(h, H_ACTOR_NAME),
            channel=_header(h, H_CHANNEL),
            source=_header(h, H_SOURCE),
            request_id=_header(h, H_REQUEST_ID),
            traceparent=_header(h, H_TRACEPARENT),
            verified=who.verified,
            sender=who.sender,
            claimed=who.claimed,
            refused=" ".join(_header(h, H_REFUSED).split())[:REFUSAL_LIMIT],
        )


def require_admin(command: str, ctx: CallContext, admins: tuple[str, ...]) -> None:
    """Raise 403 naming the admins when the caller may not run a command that changes things."""
    if ctx.verified and is_admin(ctx.actor, admins):
        return
    if not admins:
        # Secure by default: a forgotten setting refuses changes instead of letting everyone in.
        raise OpsError(
            FORBIDDEN, f"no admins are configured, so nobody can run {command}: set CHATOPS_ADMINS"
        )
    if not ctx.verified:
        raise OpsError(
            FORBIDDEN,
            f"only admins can run {command}, and the bus did not say who sent it "
            "(ops needs CHATOPS_IDENTITIES and identities on the bus)",
        )
    raise OpsError(FORBIDDEN, f"only admins can run {command}: {', '.join(admins)}")
