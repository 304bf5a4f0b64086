"""Who sent a command and which actor it may claim: pure rules over what the server stamps."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatops.actors import UNKNOWN
from chatops.identity import Member, Roster, RosterError, request_info, resolve

GATEWAY = Member("gateway", "CHATOPS", "UGATEWAY", "slack")
CONSOLE = Member("console", "CHATOPS", "UCONSOLE", "console")
TOOLS = Member("tools", "READONLY", "UTOOLS")
ROSTER = Roster((GATEWAY, CONSOLE, TOOLS))


def info(acc: str, user: str) -> dict[str, str]:
    return {"Nats-Request-Info": json.dumps({"acc": acc, "user": user, "name": "whatever the client says"})}


def test_the_sender_is_who_the_server_names_in_the_account_it_names() -> None:
    assert ROSTER.sender(info("CHATOPS", "UGATEWAY")) == GATEWAY
    assert ROSTER.sender({"nats-request-info": info("READONLY", "UTOOLS")["Nats-Request-Info"]}) == TOOLS
    assert ROSTER.sender(info("READONLY", "UGATEWAY")) is None  # the right key in the wrong account
    assert ROSTER.sender(info("CHATOPS", "UNOBODY")) is None
    assert ROSTER.sender({}) is None and ROSTER.sender(None) is None
    for raw in ("", "not json", "[]", '{"acc": "CHATOPS"}', '{"acc": 1, "user": 2}'):
        assert request_info({"Nats-Request-Info": raw}) is None


def test_a_front_end_speaks_only_for_its_own_namespace() -> None:
    assert resolve("slack:U0ADMIN", GATEWAY).actor == "slack:U0ADMIN"
    assert resolve("console:alice", CONSOLE).actor == "console:alice"
    crossed = resolve("slack:U0ADMIN", CONSOLE)
    assert (crossed.actor, crossed.claimed, crossed.verified) == ("nats:console", "slack:U0ADMIN", True)
    assert resolve("", GATEWAY).actor == "nats:gateway"
    assert resolve("slack:", GATEWAY).actor == "nats:gateway"  # no id: not an actor
    assert resolve("slack:U1 U2", GATEWAY).actor == "nats:gateway"


def test_anyone_else_acts_as_itself_and_an_unknown_sender_is_never_trusted() -> None:
    tool = resolve("slack:U0ADMIN", TOOLS)
    assert (tool.actor, tool.sender, tool.claimed, tool.verified) == (
        "nats:tools",
        "tools",
        "slack:U0ADMIN",
        True,
    )
    assert resolve("nats:tools", TOOLS).claimed == ""  # claiming what it is is no claim at all
    nobody = resolve("slack:U0ADMIN", None)
    assert (nobody.actor, nobody.verified, nobody.claimed) == (UNKNOWN, False, "slack:U0ADMIN")


@given(st.text(max_size=80))
def test_no_claim_makes_a_tool_anything_but_itself(claim: str) -> None:
    assert resolve(claim, TOOLS).actor == "nats:tools"


def test_the_roster_round_trips_and_a_bad_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "identities.json"
    path.write_text(ROSTER.to_json())
    assert Roster.load(path) == ROSTER
    path.write_text('{"identities": [{"name": "x"}]}')
    with pytest.raises(RosterError, match=r"identities\.json is not a roster"):
        Roster.load(path)
    with pytest.raises(RosterError, match="cannot read"):
        Roster.load(tmp_path / "missing.json")
