"""The state of a service as a projection of its deploy events, and the answers read from it (pure)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatops.v1 import deploys_pb2 as pb
from deployer.canary import Reading, final_verdict, reading_from, too_many_errors
from deployer.manifest import load_manifest, parse_manifest
from deployer.projection import Projection
from deployer.status import recent, release_status
from ops.backends.prometheus import Sample
from ops.errors import OpsError
from tools.harness.components import RELEASES

S = 1_000_000_000  # a second in ns
MANIFEST = load_manifest(RELEASES)


def event(
    deploy: str, step: int, at: int, fleet: dict[str, tuple[str, int]], **fields: object
) -> pb.DeployEvent:
    out = pb.DeployEvent(deploy_id=deploy, service="petstore", step=step, **fields)  # type: ignore[arg-type]
    out.time.FromNanoseconds(at * S)
    out.requested_at.FromNanoseconds(at * S)
    for name, (version, since) in sorted(fleet.items()):
        inst = out.instances.add(name=name, version=version)
        if since:
            inst.since.FromNanoseconds(since * S)
    return out


def history() -> list[pb.DeployEvent]:
    """Install 0.1.0; deploy 0.2.0 (promoted); deploy 0.3.0 (canary rolled back)."""
    old = {"petstore-1": ("0.1.0", 10), "petstore-2": ("0.1.0", 11)}
    canary = {**old, "petstore-1": ("0.2.0", 100)}
    new = {**canary, "petstore-2": ("0.2.0", 130)}
    bad = {**new, "petstore-1": ("0.3.0", 200)}
    back = {**new, "petstore-1": ("0.2.0", 210)}
    return [
        event("i", pb.DEPLOY_STEP_REQUESTED, 9, {}, kind=pb.DEPLOY_KIND_INSTALL, to_version="0.1.0"),
        event("i", pb.DEPLOY_STEP_PROMOTED, 12, old, kind=pb.DEPLOY_KIND_INSTALL, to_version="0.1.0"),
        event(
            "a", pb.DEPLOY_STEP_REQUESTED, 99, old, from_version="0.1.0", to_version="0.2.0", actor="alice"
        ),
        event("a", pb.DEPLOY_STEP_STARTED, 99, old, from_version="0.1.0", to_version="0.2.0"),
        event("a", pb.DEPLOY_STEP_CANARY_HEALTHY, 100, canary, from_version="0.1.0", to_version="0.2.0"),
        event("a", pb.DEPLOY_STEP_PROMOTED, 131, new, from_version="0.1.0", to_version="0.2.0"),
        event("b", pb.DEPLOY_STEP_REQUESTED, 199, new, from_version="0.2.0", to_version="0.3.0"),
        event("b", pb.DEPLOY_STEP_CANARY_HEALTHY, 200, bad, from_version="0.2.0", to_version="0.3.0"),
        event("b", pb.DEPLOY_STEP_ROLLED_BACK, 211, back, from_version="0.2.0", to_version="0.3.0"),
    ]


def test_the_projection_knows_the_fleet_the_history_and_where_rollback_goes() -> None:
    state = Projection.rebuild(history()).service("petstore")
    assert {n: i.version for n, i in state.instances.items()} == {
        "petstore-1": "0.2.0",
        "petstore-2": "0.2.0",
    }
    assert state.version == "0.2.0" and state.in_progress is None
    assert state.settled == ["0.1.0", "0.2.0"]  # the bad canary never settled the fleet
    assert state.previous == "0.1.0"
    assert [v for v, _ in state.instances["petstore-1"].history] == ["0.1.0", "0.2.0", "0.3.0", "0.2.0"]


def test_a_deploy_without_an_ending_is_in_progress() -> None:
    state = Projection.rebuild(history()[:5]).service("petstore")
    assert state.in_progress is not None and state.in_progress.deploy_id == "a"
    assert state.version == ""  # a mixed fleet runs no one version


def test_recent_deploys_are_newest_first() -> None:
    states = Projection.rebuild(history()).services
    assert [d.deploy_id for d in recent(states, "", 10)] == ["b", "a", "i"]
    assert [d.step for d in recent(states, "petstore", 2)] == [
        pb.DEPLOY_STEP_ROLLED_BACK,
        pb.DEPLOY_STEP_PROMOTED,
    ]
    assert recent(states, "other", 10) == []


def test_a_commit_of_the_live_release_is_live_since_its_first_instance_had_it() -> None:
    states = Projection.rebuild(history()).services
    live = release_status(MANIFEST, states, "85c5e41")  # a commit of 0.2.0
    assert live.found and live.version == "0.2.0" and list(live.versions) == ["0.2.0", "0.3.0"]
    assert (live.live, live.live_instances, live.total_instances) == (True, 2, 2)
    # petstore-1 had 0.2.0 from 100 s, then 0.3.0 (which contains it), then 0.2.0 again: no break.
    assert live.live_since.ToNanoseconds() == 100 * S
    gone = release_status(MANIFEST, states, "cea41c3")  # a commit of 0.3.0, rolled back
    assert gone.found and gone.version == "0.3.0" and not gone.live and gone.live_instances == 0
    old = release_status(MANIFEST, states, "0.1.0")  # a version: 0.2.0 has its commits too
    assert old.live and old.live_since.ToNanoseconds() == 10 * S and not old.commit.id
    assert not release_status(MANIFEST, states, "0badc0de").found
    assert not release_status(MANIFEST, states, "9.9.9").found


def test_an_ambiguous_or_empty_reference_is_a_bad_request() -> None:
    with pytest.raises(OpsError, match="say which commit"):
        release_status(MANIFEST, {}, " ")
    commits = [{"id": "abcd111", "subject": "one"}, {"id": "abcd222", "subject": "two"}]
    twins = parse_manifest({"services": {"petstore": [{"version": "1.0.0", "commits": commits}]}})
    with pytest.raises(OpsError, match="matches 2 commits"):
        release_status(twins, {}, "abcd")


def test_a_reading_counts_server_errors_only() -> None:
    samples = [
        Sample((("code", "OK"),), "90"),
        Sample((("code", "INVALID_ARGUMENT"),), "6"),
        Sample((("code", "INTERNAL"),), "3"),
        Sample((("code", "UNAVAILABLE"),), "1"),
        Sample((("code", "OK"),), "NaN"),
    ]
    reading = reading_from(samples)
    assert (reading.calls, reading.errors, reading.ratio) == (100, 4, 0.04)


def test_the_verdict() -> None:
    assert too_many_errors(Reading(100, 4), 0.05, 20) is None
    assert too_many_errors(Reading(10, 9), 0.05, 20) is None  # not enough calls yet to judge
    bad = too_many_errors(Reading(40, 24), 0.05, 20)
    assert bad is not None and "60.0% crossed 5.0%" in bad.reason
    assert final_verdict(Reading(100, 0), True, "i", "0.2.0", 0.05, 20).ok
    assert not final_verdict(Reading(100, 0), False, "i:1", "0.2.0", 0.05, 20).ok  # not scraped
    few = final_verdict(Reading(3, 0), True, "i", "0.2.0", 0.05, 20)
    assert not few.ok and "only 3 calls" in few.reason
    assert final_verdict(Reading(0, 0), True, "i", "0.2.0", 0.05, 0).ok


@given(
    st.lists(st.tuples(st.sampled_from(["petstore-1", "petstore-2"]), st.sampled_from(["0.1.0", "0.2.0"])))
)
def test_the_fleet_is_what_the_latest_events_say(moves: list[tuple[str, str]]) -> None:
    projection = Projection()
    fleet: dict[str, tuple[str, int]] = {}
    for i, (name, version) in enumerate(moves):
        fleet[name] = (version, i + 1)
        projection.apply(event(f"d{i}", pb.DEPLOY_STEP_PROMOTED, i + 1, dict(fleet)))
    state = projection.service("petstore")
    assert {n: (i.version, i.since_ns // S) for n, i in state.instances.items()} == fleet
