"""deadletters.list and deadletters.replay: the alert notifications delivery gave up on."""

from __future__ import annotations

from chatops.v1 import deadletters_pb2 as pb
from ops.context import CallContext
from ops.deadletters import Unreplayable
from ops.deps import Deps
from ops.errors import bad_request

MAX_LIMIT = 100
DEFAULT_LIMIT = 20
MAX_IDS = 100


async def list_dead_letters(
    deps: Deps, ctx: CallContext, req: pb.ListDeadLettersRequest
) -> pb.ListDeadLettersReply:
    """Newest first; those sent again only when asked for."""
    limit = req.limit if req.HasField("limit") else DEFAULT_LIMIT
    if not 1 <= limit <= MAX_LIMIT:
        raise bad_request(f"limit must be 1 to {MAX_LIMIT} (leave it out for {DEFAULT_LIMIT}), not {limit}")
    shelf = await deps.deadletters.shelf()
    shown = shelf.letters if req.replayed else shelf.waiting
    return pb.ListDeadLettersReply(dead_letters=list(reversed(shown))[:limit], waiting=len(shelf.waiting))


async def replay_dead_letters(
    deps: Deps, ctx: CallContext, req: pb.ReplayDeadLettersRequest
) -> pb.ReplayDeadLettersReply:
    """Each asked-for dead letter back on CHATOPS_ALERTS, oldest first; why not, for the others."""
    if req.all == bool(req.ids):
        raise bad_request("name the dead letters to send again (their ids), or ask for all of them")
    if len(req.ids) > MAX_IDS:
        raise bad_request(f"at most {MAX_IDS} ids at once, or all")
    shelf = await deps.deadletters.shelf()
    by_id = {d.sequence: d for d in shelf.letters}
    wanted = [d.sequence for d in shelf.waiting] if req.all else sorted(dict.fromkeys(req.ids))
    reply = pb.ReplayDeadLettersReply()
    for dead in wanted:
        letter = by_id.get(dead)
        if letter is None:
            reply.skipped.append(f"{dead}: there is no dead letter {dead} (see `dead letters`)")
            continue
        try:
            await deps.deadletters.replay(letter, ctx.actor)
        except Unreplayable as why:
            reply.skipped.append(str(why))
            continue
        reply.replayed.append(dead)
    return reply
