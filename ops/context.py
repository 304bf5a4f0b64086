"""Who runs a command, read from the Chatops-* headers, and the admin rule for commands that change things."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from chatops.admins import is_admin
from chatops.errors import FORBIDDEN
from chatops.subjects import H_ACTOR, H_ACTOR_NAME, H_CHANNEL, H_REQUEST_ID, H_SOURCE, H_TRACEPARENT
from ops.errors import OpsError

ANONYMOUS = "anonymous"


def _header(headers: Mapping[str, str], name: str) -> str:
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value.strip()
    return ""


@dataclass(frozen=True)
class CallContext:
    """The caller of one command: the Chatops-* headers, with defaults filled in."""

    actor: str = ANONYMOUS
    actor_name: str = ""
    channel: str = ""
    source: str = ""
    request_id: str = ""
    traceparent: str = ""

    @classmethod
    def from_headers(cls, headers: Mapping[str, str] | None) -> CallContext:
        h = headers or {}
        return cls(
            actor=_header(h, H_ACTOR) or ANONYMOUS,
            actor_name=_header(h, H_ACTOR_NAME),
            channel=_header(h, H_CHANNEL),
            source=_header(h, H_SOURCE),
            request_id=_header(h, H_REQUEST_ID),
            traceparent=_header(h, H_TRACEPARENT),
        )


def require_admin(command: str, ctx: CallContext, admins: tuple[str, ...]) -> None:
    """Raise 403 naming the admins when the caller may not run a command that changes things."""
    if is_admin(ctx.actor, admins):
        return
    if not admins:
        # Secure by default: a forgotten setting refuses changes instead of letting everyone in.
        raise OpsError(
            FORBIDDEN, f"no admins are configured, so nobody can run {command}: set CHATOPS_ADMINS"
        )
    raise OpsError(FORBIDDEN, f"only admins can run {command}: {', '.join(admins)}")
