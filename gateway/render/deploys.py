"""Pure renderers for deploys: a deploy's card (its steps and a progress bar), the list, release status."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from google.protobuf.timestamp_pb2 import Timestamp

from chatops.v1 import deploys_pb2 as pb
from gateway.render.doc import Doc, Fields, Para, Part, Table, counted, took, when

BAR = 10
DONE, FAILED, NOW, LATER = "✔", "✖", "⏳", "◻"
_ENDINGS = (pb.DEPLOY_STEP_PROMOTED, pb.DEPLOY_STEP_ROLLED_BACK, pb.DEPLOY_STEP_FAILED)
_OUTCOME: dict[int, str] = {
    pb.DEPLOY_STEP_REQUESTED: "requested",
    pb.DEPLOY_STEP_STARTED: "canary starting",
    pb.DEPLOY_STEP_CANARY_HEALTHY: "watching the canary",
    pb.DEPLOY_STEP_PROMOTED: "promoted",
    pb.DEPLOY_STEP_ROLLED_BACK: "rolled back",
    pb.DEPLOY_STEP_FAILED: "failed",
}
_KIND: dict[int, str] = {pb.DEPLOY_KIND_ROLLBACK: "Rollback", pb.DEPLOY_KIND_INSTALL: "Install"}


def _time(ts: Timestamp) -> datetime | None:
    return ts.ToDatetime(tzinfo=UTC) if ts.seconds or ts.nanos else None


def _clock(ts: Timestamp) -> str:
    moment = _time(ts)
    return moment.strftime("%H:%M:%S UTC") if moment else "-"


def _took(start: Timestamp, end: Timestamp) -> str:
    first, last = _time(start), _time(end)
    return took(max(last - first, timedelta(0))) if first and last else "-"


def who(actor: str, actor_name: str) -> str:
    return actor_name or actor or "someone"


def outcome(step: int, kind: int) -> str:
    """How a deploy stands, in a word or two; a rollback that went through is "rolled back"."""
    if kind == pb.DEPLOY_KIND_ROLLBACK and step == pb.DEPLOY_STEP_ROLLED_BACK:
        return "rolled back (done)"
    return _OUTCOME.get(step, "?")


def progress_bar(done: int, total: int) -> str:
    """`▰▰▰▰▰▱▱▱▱▱ 50%`."""
    filled = round(BAR * done / total) if total else 0
    return "▰" * filled + "▱" * (BAR - filled) + f" {round(100 * done / total) if total else 0}%"


def _bad_end(event: pb.DeployEvent) -> bool:
    return event.step == pb.DEPLOY_STEP_FAILED or (
        event.step == pb.DEPLOY_STEP_ROLLED_BACK and event.kind == pb.DEPLOY_KIND_DEPLOY
    )


def _plan(event: pb.DeployEvent) -> list[str]:
    """One line per step, as it reads once that step is done."""
    lines = [
        f"requested by {who(event.actor, event.actor_name)} at {_clock(event.requested_at)}",
        f"canary {event.canary or 'the first instance'} switched to {event.to_version}",
        "canary healthy",
    ]
    if event.settle_seconds > 0:
        lines.append(
            f"error ratio watched for {event.settle_seconds:g}s (at most {event.max_error_ratio:.1%})"
        )
    lines.append(f"every instance on {event.to_version}")
    return lines


def _reached(event: pb.DeployEvent, steps: int) -> int:
    """How many lines of the plan are done; the next one is under way."""
    if event.step in _ENDINGS:
        return steps
    if event.step == pb.DEPLOY_STEP_CANARY_HEALTHY:
        return 3
    return 1 if event.step in (pb.DEPLOY_STEP_REQUESTED, pb.DEPLOY_STEP_STARTED) else 0


def _step_lines(event: pb.DeployEvent) -> str:
    plan = _plan(event)
    if event.kind == pb.DEPLOY_KIND_INSTALL:
        plan = [plan[0], plan[-1]]
    if _bad_end(event):
        # The reason says how far it got; the lines in between would claim more than the event knows.
        word = "rolled back" if event.step == pb.DEPLOY_STEP_ROLLED_BACK else "failed"
        return f"{DONE} {plan[0]}\n{FAILED} {word}: {event.reason}"
    reached = _reached(event, len(plan))
    marks = [DONE if i < reached else NOW if i == reached else LATER for i in range(len(plan))]
    return "\n".join(f"{mark} {line}" for mark, line in zip(marks, plan, strict=True))


def _fleet(event: pb.DeployEvent) -> str:
    return " · ".join(f"{i.name} {i.version or 'down'}" for i in event.instances) or "-"


def card(event: pb.DeployEvent) -> Doc:
    """A deploy as one message: what, who, a progress bar, every step, and the fleet now."""
    kind = _KIND.get(event.kind, "Deploy")
    change = f"{event.from_version} → {event.to_version}" if event.from_version else event.to_version
    title = f"{kind} of {event.service} {change}: {outcome(event.step, event.kind)}"
    steps = len(_plan(event))
    parts: list[Part] = [
        Para(f"`{progress_bar(_reached(event, steps), steps)}`"),
        Para(_step_lines(event)),
    ]
    if event.step not in _ENDINGS and event.reason:
        parts.append(Para(f"Now: {event.reason}"))
    pairs = [("deploy", event.deploy_id), ("instances", _fleet(event))]
    if event.HasField("error_ratio"):
        pairs.append(("canary error ratio", f"{event.error_ratio:.1%} of {event.canary_calls} calls"))
    if event.step in _ENDINGS:
        pairs.append(("took", _took(event.requested_at, event.time)))
    parts.append(Fields(tuple(pairs)))
    return Doc(title, tuple(parts), ok=not _bad_end(event))


def start_deploy(reply: pb.StartDeployReply) -> Doc:
    return card(reply.deploy)


def rollback(reply: pb.RollbackReply) -> Doc:
    return card(reply.deploy)


def list_deploys(reply: pb.ListDeploysReply) -> Doc:
    if not reply.deploys:
        return Doc("No deploys yet.")
    rows = tuple(
        (
            when(_time(d.requested_at)),
            who(d.actor, d.actor_name),
            f"{_KIND.get(d.kind, 'deploy').lower()} {d.service} "
            + (f"{d.from_version} → {d.to_version}" if d.from_version else d.to_version),
            outcome(d.step, d.kind),
            _took(d.requested_at, d.updated_at) if not d.in_progress else "-",
            d.deploy_id,
        )
        for d in reply.deploys
    )
    table = Table(("requested (UTC)", "who", "what", "outcome", "took", "deploy"), rows)
    parts: list[Part] = [table]
    latest = reply.deploys[0]
    if latest.reason:
        parts.append(Para(f"Latest: {latest.reason}"))
    return Doc(f"{counted(len(rows), 'deploy')}, newest first:", tuple(parts))


def release_status(reply: pb.ReleaseStatusReply) -> Doc:
    """ "Is my change live?": yes on N/M instances since …, or not live, or not in any release."""
    if not reply.found:
        return Doc(
            f"No release has `{reply.ref}`: it is not in the release manifest, so it is not live anywhere.",
            (Para("Check the id (a prefix needs at least 4 hex digits), or ask for a version like 0.2.0."),),
        )
    what = (
        f"Commit `{reply.commit.id[:12]}` ({reply.commit.subject}) came with {reply.service} {reply.version}"
        if reply.commit.id
        else f"{reply.service} {reply.version}"
    )
    if reply.live:
        since = f" since {when(_time(reply.live_since))} UTC" if reply.HasField("live_since") else ""
        title = f"{what}: live on {reply.live_instances}/{reply.total_instances} instances{since}."
    else:
        title = f"{what}: not live (no instance runs a release that has it)."
    running = " · ".join(f"{i.name} {i.version or 'down'}" for i in reply.instances) or "-"
    pairs = [
        ("releases with it", ", ".join(reply.versions)),
        ("instances now", running),
    ]
    if reply.HasField("reporting"):
        pairs.append(("Prometheus sees it on", f"{reply.reporting} instances"))
    parts: list[Part] = [Fields(tuple(pairs))]
    if reply.HasField("in_progress"):
        d = reply.in_progress
        parts.append(
            Para(
                f"A deploy is under way: {d.from_version} → {d.to_version} by "
                f"{who(d.actor, d.actor_name)} ({outcome(d.step, d.kind)})."
            )
        )
    return Doc(title, tuple(parts))
