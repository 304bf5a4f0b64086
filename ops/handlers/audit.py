"""audit.list: the audit log read back, newest first, with actor/command/since filters."""

from __future__ import annotations

from chatops.contract import COMMANDS
from chatops.v1 import audit_pb2
from ops.auditlog import AuditFilter
from ops.context import CallContext
from ops.deps import Deps
from ops.errors import bad_request

MAX_LIMIT = 100
DEFAULT_LIMIT = 20


def build_filter(req: audit_pb2.ListAuditRequest) -> AuditFilter:
    """Check the request (pure): limit 1..100 (unset = 20), command a known command or noun."""
    limit = req.limit if req.HasField("limit") else DEFAULT_LIMIT
    if not 1 <= limit <= MAX_LIMIT:
        raise bad_request(f"limit must be 1 to {MAX_LIMIT} (leave it out for {DEFAULT_LIMIT}), not {limit}")
    command = req.command.strip()
    names = [c.name for c in COMMANDS]
    nouns = sorted({n.split(".", 1)[0] for n in names})
    if command and command not in names and command not in nouns:
        raise bad_request(
            f"unknown command {command!r}; use one of {', '.join(names)} or a noun: {', '.join(nouns)}"
        )
    since = req.since.ToNanoseconds() if req.HasField("since") else 0
    return AuditFilter(limit=limit, actor=req.actor.strip(), command=command, since_ns=since)


async def list_audit(
    deps: Deps, ctx: CallContext, req: audit_pb2.ListAuditRequest
) -> audit_pb2.ListAuditReply:
    """Newest first; says how much of the log was too old for the search to reach."""
    found = await deps.audit.search(build_filter(req))
    reply = audit_pb2.ListAuditReply(events=found.events, unsearched=found.unsearched)
    if found.unsearched and found.searched_back_to_ns:
        reply.searched_back_to.FromNanoseconds(found.searched_back_to_ns)
    return reply
