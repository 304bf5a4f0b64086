"""silences.create through Alertmanager's v2 API; createdBy is the actor, and the new silence is an
event on CHATOPS_CARDS naming the chat actor (the watcher later adds the alerts it mutes)."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp

from chatops import logs
from chatops.userregex import RegexError, compile_regex
from chatops.v1 import alerts_pb2, cards_pb2
from ops.backends.alertmanager import NewSilence, SilenceMatcher
from ops.context import CallContext
from ops.deps import Deps
from ops.errors import bad_request

log = logs.get_logger(__name__)
MIN_SECONDS = 60
MAX_SECONDS = 30 * 24 * 3600
DEFAULT_SECONDS = 3600  # when the request carries no duration at all
_LABEL = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def matchers(req: alerts_pb2.CreateSilenceRequest) -> tuple[SilenceMatcher, ...]:
    """Check the matchers (pure): at least one, label names valid, regexes compile."""
    if not req.matchers:
        raise bad_request("a silence needs at least one matcher, e.g. alertname=PetstoreErrorRatioHigh")
    out = []
    for m in req.matchers:
        if not _LABEL.fullmatch(m.name):
            raise bad_request(f"matcher label {m.name!r} is not a valid label name")
        if m.is_regex:
            try:
                compile_regex(m.value)
            except RegexError as exc:
                shown = m.value if len(m.value) <= 80 else m.value[:79] + "…"
                raise bad_request(
                    f"matcher {m.name}=~{shown!r} has a bad regular expression: {exc}"
                ) from None
        elif not m.value and m.is_equal:
            raise bad_request(f"matcher {m.name} needs a value (an empty one would match every alert)")
        out.append(SilenceMatcher(m.name, m.value, m.is_regex, m.is_equal))
    if all(not m.is_equal for m in out) or all(m.is_regex and m.value in (".*", "") for m in out):
        raise bad_request(
            "the matchers would silence every alert; add a positive matcher such as alertname=X"
        )
    return tuple(out)


def duration_seconds(req: alerts_pb2.CreateSilenceRequest) -> float:
    if not req.HasField("duration"):
        return DEFAULT_SECONDS
    seconds = req.duration.ToNanoseconds() / 1e9
    if not MIN_SECONDS <= seconds <= MAX_SECONDS:
        raise bad_request(f"silence duration must be 1m to 30d, not {seconds:g}s")
    return seconds


def _rfc3339(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _ts(ns: int) -> Timestamp:
    t = Timestamp()
    t.FromNanoseconds(ns)
    return t


async def create_silence(
    deps: Deps, ctx: CallContext, req: alerts_pb2.CreateSilenceRequest
) -> alerts_pb2.CreateSilenceReply:
    """Everything is checked before Alertmanager is asked."""
    ms = matchers(req)
    seconds = duration_seconds(req)
    starts = time.time_ns()
    ends = starts + int(seconds * 1e9)
    created_by = ctx.actor_name or ctx.actor
    comment = req.comment.strip() or f"silenced from chat by {created_by}"
    silence_id = await deps.alertmanager.create_silence(
        NewSilence(ms, _rfc3339(starts), _rfc3339(ends), created_by, comment)
    )
    reply = alerts_pb2.CreateSilenceReply(
        silence_id=silence_id,
        starts_at=_ts(starts),
        ends_at=_ts(ends),
        created_by=created_by,
        url=f"{deps.alertmanager_url.rstrip('/')}/#/silences/{silence_id}",
    )
    event = cards_pb2.SilenceEvent(
        silence_id=silence_id,
        matchers=req.matchers,
        starts_at=reply.starts_at,
        ends_at=reply.ends_at,
        created_by=created_by,
        comment=comment,
        state="active",
        changes=[cards_pb2.SILENCE_CHANGE_CREATED],
        actor=ctx.actor,
        actor_name=ctx.actor_name,
        url=reply.url,
        time=_ts(starts),
    )
    try:
        await deps.cards.append_silence(event, f"silence:{silence_id}:created")
    except Exception as exc:  # the silence stands; the watcher records it when it next looks
        log.warning(
            "silences.event_not_recorded", silence_id=silence_id, error=f"{type(exc).__name__}: {exc}"
        )
    return reply
