"""Subject names are built by one function and are always valid NATS tokens."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from chatops.contract import BY_NAME, COMMANDS, DEPLOYER, OPS, command, served_by
from chatops.subjects import alert_subject, audit_subject, command_subject, covers, deploy_subject, token


def test_command_subjects_match_the_contract() -> None:
    assert [c.subject for c in COMMANDS] == [
        "chatops.cmd.traces.list",
        "chatops.cmd.traces.show",
        "chatops.cmd.traces.logs",
        "chatops.cmd.sampling.get",
        "chatops.cmd.sampling.set",
        "chatops.cmd.version.get",
        "chatops.cmd.alerts.list",
        "chatops.cmd.silences.create",
        "chatops.cmd.alerts.ack",
        "chatops.cmd.alerts.unack",
        "chatops.cmd.timeline.show",
        "chatops.cmd.audit.list",
        "chatops.cmd.graph.render",
        "chatops.cmd.deadletters.list",
        "chatops.cmd.deadletters.replay",
        "chatops.cmd.deploys.start",
        "chatops.cmd.deploys.rollback",
        "chatops.cmd.deploys.list",
        "chatops.cmd.deploys.status",
    ]
    assert {c.name for c in COMMANDS if c.changes} == {
        "sampling.set",
        "silences.create",
        "deadletters.replay",
        "deploys.start",
        "deploys.rollback",
    }
    assert {c.name for c in served_by(DEPLOYER)} == {n for n in BY_NAME if n.startswith("deploys.")}
    assert {c.server for c in COMMANDS} == {OPS, DEPLOYER}
    assert command("version.get").subject == command_subject("version.get")


def test_event_subjects() -> None:
    assert alert_subject("firing", "critical") == "chatops.alerts.firing.critical"
    assert alert_subject("resolved", "") == "chatops.alerts.resolved.none"
    assert alert_subject("firing", "p1 page.me*") == "chatops.alerts.firing.p1_page_me"
    assert audit_subject("silences.create") == "chatops.audit.silences.create"
    assert deploy_subject("petstore", "canary_healthy") == "chatops.deploys.petstore.canary_healthy"


@given(st.text(max_size=64))
def test_any_label_becomes_one_safe_token(value: str) -> None:
    t = token(value)
    assert t
    assert not any(c in t for c in ".*> \t\r\n")


def test_covers_follows_nats_wildcards() -> None:
    assert covers("chatops.audit.>", "chatops.audit.chat.refused")
    assert not covers("chatops.audit.>", "chatops.audit")
    assert not covers("chatops.audit.>", "chatops.auditx.chat")
    assert covers("chatops.*.chat.refused", "chatops.audit.chat.refused")
    assert not covers("chatops.*", "chatops.audit.chat")
    assert covers("chatops.audit.chat.refused", "chatops.audit.chat.refused")
    assert not covers("chatops.audit.chat", "chatops.audit.chat.refused")
