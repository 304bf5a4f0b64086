"""Actors are built and taken apart in one place: `<kind>:<id>`."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from chatops import actors

IDS = st.text(st.characters(exclude_characters=":"), min_size=1, max_size=20)


def test_each_kind_builds_its_actor() -> None:
    assert actors.slack("U024BE7LH") == "slack:U024BE7LH"
    assert actors.console("alice") == "console:alice"
    assert actors.console("slack:U1") == "slack:U1"  # an actor given at the shell is kept
    assert actors.nats("tools") == "nats:tools"
    assert actors.UNKNOWN == "nats:unknown"


def test_only_a_slack_actor_has_a_slack_user() -> None:
    assert actors.slack_user("slack:U024BE7LH") == "U024BE7LH"
    assert actors.slack_user("console:U024BE7LH") == ""
    assert actors.slack_user("nats:gateway") == ""
    assert actors.slack_user("U024BE7LH") == ""  # no kind: not a Slack actor
    assert actors.split("console:alice") == ("console", "alice")
    assert actors.split("alice") == ("", "alice")


@given(IDS)
def test_a_slack_actor_gives_back_its_user(user: str) -> None:
    assert actors.slack_user(actors.slack(user)) == user
    assert actors.split(actors.nats(user)) == (actors.NATS, user)
    assert actors.slack_user(actors.console(user)) == ""


def test_an_actor_is_a_kind_and_an_id_without_space_colon_or_comma() -> None:
    for good in ("slack:U024BE7LH", "console:alice", "nats:tools", "ci-bot:deploy_1", "a1:x"):
        assert actors.is_actor(good), good
    for bad in ("alice", "slack:", ":U1", "Slack:U1", "slack:U1 U2", "slack:U1,U2", "a:b:c", "slack:U1\n"):
        assert not actors.is_actor(bad), bad
