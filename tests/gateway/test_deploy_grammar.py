"""The deploy commands in chat: grammar (pure) and how a deploy, the list and release status read."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chatops.v1 import deploys_pb2 as pb
from gateway.render.deploys import card, list_deploys, progress_bar, release_status
from gateway.render.slack import to_slack
from gateway.render.text import to_text
from tests.gateway.parsing import bad, ok

NOW = datetime(2026, 1, 2, 15, 4, 5, tzinfo=UTC)


def test_deploy_and_rollback_are_changes_that_ask_to_confirm():
    req = ok("deploy petstore 0.2.0")
    assert req.command.name == "deploys.start" and req.command.changes and req.spec.progress_in_events
    assert req.message == pb.StartDeployRequest(service="petstore", version="0.2.0")
    back = ok("Rollback Petstore")
    assert back.command.name == "deploys.rollback" and back.message == pb.RollbackRequest(service="petstore")
    assert ok("deployed version").command.name == "version.get"  # the longer phrase is not taken


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("deploy petstore", "which service and which version"),
        ("deploy 0.2.0", "which service and which version"),
        ("deploy petstore 0.2.0 now", "which service and which version"),
        ("deploy Pet$tore 0.2.0", "is not a service name"),
        ("deploy petstore ../0.2", "is not a version"),
        ("rollback", "which service"),
        ("release status", "one commit id"),
        ("release status a b", "one commit id"),
        ("release status 0.2.0!", "neither a commit id nor a version"),
        ("deploys limit=0", "limit"),
        ("deploys since=1h", "no option `since=`"),
    ],
)
def test_bad_deploy_commands_say_what_is_wrong(text: str, says: str) -> None:
    assert says in bad(text).text


def test_read_commands_need_no_confirmation():
    assert ok("deploys").message == pb.ListDeploysRequest()
    assert ok("deploys limit=5").message == pb.ListDeploysRequest(limit=5)
    status = ok("release status 85C5E41")
    assert not status.command.changes and status.message == pb.ReleaseStatusRequest(ref="85C5E41")


def _event(step: int, kind: int = pb.DEPLOY_KIND_DEPLOY, **fields: object) -> pb.DeployEvent:
    event = pb.DeployEvent(
        deploy_id="petstore-0a1b2c3d",
        service="petstore",
        step=step,  # type: ignore[arg-type]
        kind=kind,  # type: ignore[arg-type]
        actor="slack:U1",
        actor_name="alice",
        from_version="0.1.0",
        to_version="0.2.0",
        canary="petstore-1",
        settle_seconds=30,
        max_error_ratio=0.05,
        **fields,  # type: ignore[arg-type]
    )
    event.requested_at.FromDatetime(NOW)
    event.time.FromDatetime(NOW.replace(second=50))
    event.instances.add(name="petstore-1", version="0.2.0")
    event.instances.add(name="petstore-2", version="0.1.0")
    return event


def test_a_deploy_in_progress_shows_its_steps_and_where_it_is():
    text = to_text(card(_event(pb.DEPLOY_STEP_CANARY_HEALTHY, reason="watching the canary")))
    assert text.startswith("Deploy of petstore 0.1.0 → 0.2.0: watching the canary")
    assert "✔ requested by alice at 15:04:05 UTC" in text
    assert "✔ canary petstore-1 switched to 0.2.0" in text
    assert "⏳ error ratio watched for 30s (at most 5.0%)" in text
    assert "◻ every instance on 0.2.0" in text
    assert "▰▰▰▰▰▰▱▱▱▱ 60%" in text and "petstore-1 0.2.0 · petstore-2 0.1.0" in text


def test_a_promoted_deploy_is_all_ticks_and_says_how_long_it_took():
    text = to_text(card(_event(pb.DEPLOY_STEP_PROMOTED, error_ratio=0.0, canary_calls=120)))
    assert "promoted" in text.splitlines()[0] and "⏳" not in text and "◻" not in text
    assert "100%" in text and "0.0% of 120 calls" in text and "45.00s" in text


def test_a_rolled_back_deploy_is_a_warning_with_its_reason():
    doc = card(_event(pb.DEPLOY_STEP_ROLLED_BACK, reason="the canary's error ratio 61.0% crossed 5.0%"))
    assert not doc.ok
    text = to_text(doc)
    assert "✖ rolled back: the canary's error ratio 61.0% crossed 5.0%" in text
    assert "canary healthy" not in text  # the event alone does not say how far it got; the reason does
    assert ":warning:" in to_slack(doc).blocks[0]["text"]["text"]


def test_a_finished_rollback_is_not_a_failure():
    event = _event(pb.DEPLOY_STEP_ROLLED_BACK, kind=pb.DEPLOY_KIND_ROLLBACK)
    event.settle_seconds = 0
    doc = card(event)
    assert doc.ok and doc.title == "Rollback of petstore 0.1.0 → 0.2.0: rolled back (done)"
    assert "error ratio watched" not in to_text(doc)


def test_progress_bars():
    assert progress_bar(0, 5) == "▱▱▱▱▱▱▱▱▱▱ 0%"
    assert progress_bar(5, 5) == "▰▰▰▰▰▰▰▰▰▰ 100%"


def test_the_list_is_newest_first_with_who_what_and_how_it_ended():
    done = pb.DeploySummary(
        deploy_id="petstore-1",
        service="petstore",
        kind=pb.DEPLOY_KIND_DEPLOY,
        actor_name="alice",
        from_version="0.1.0",
        to_version="0.2.0",
        step=pb.DEPLOY_STEP_PROMOTED,
        reason="every instance is on 0.2.0",
    )
    done.requested_at.FromDatetime(NOW)
    done.updated_at.FromDatetime(NOW.replace(minute=5))
    running = pb.DeploySummary(
        deploy_id="petstore-2",
        service="petstore",
        kind=pb.DEPLOY_KIND_ROLLBACK,
        actor="slack:U2",
        from_version="0.2.0",
        to_version="0.1.0",
        step=pb.DEPLOY_STEP_STARTED,
        in_progress=True,
    )
    text = to_text(list_deploys(pb.ListDeploysReply(deploys=[running, done])))
    assert text.index("rollback petstore 0.2.0 → 0.1.0") < text.index("deploy petstore 0.1.0 → 0.2.0")
    assert "canary starting" in text and "promoted" in text and "1m00s" in text and "slack:U2" in text
    assert to_text(list_deploys(pb.ListDeploysReply())) == "No deploys yet."


def test_release_status_reads_as_an_answer():
    reply = pb.ReleaseStatusReply(
        ref="85c5e41",
        found=True,
        service="petstore",
        version="0.2.0",
        commit=pb.ReleaseCommit(id="85c5e41ce8d7653d01b837fac69e69133382fc39", subject="Update pets"),
        versions=["0.2.0", "0.3.0"],
        live=True,
        live_instances=2,
        total_instances=2,
        reporting=2,
    )
    reply.live_since.FromDatetime(NOW)
    text = to_text(release_status(reply))
    assert text.startswith(
        "Commit `85c5e41ce8d7` (Update pets) came with petstore 0.2.0: live on 2/2 instances since "
        "2026-01-02 15:04:05 UTC."
    )
    assert "0.2.0, 0.3.0" in text and "2 instances" in text
    reply.live, reply.live_instances = False, 0
    assert "not live" in to_text(release_status(reply))
    missing = to_text(release_status(pb.ReleaseStatusReply(ref="0badc0de")))
    assert missing.startswith("No release has `0badc0de`")
