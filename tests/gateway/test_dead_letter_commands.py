"""`dead letters` and `replay dead letters`: the grammar and the replies, pure."""

from __future__ import annotations

from chatops.v1 import deadletters_pb2 as pb
from chatops.v1.events_pb2 import AlertNotification
from gateway.commands import render_reply
from gateway.render.text import to_text
from tests.gateway.parsing import bad, ok


def test_dead_letters_takes_a_limit_and_whether_to_show_replayed_ones() -> None:
    assert ok("dead letters").message == pb.ListDeadLettersRequest()
    assert ok("Dead Letters limit=5 replayed=yes").message == pb.ListDeadLettersRequest(
        limit=5, replayed=True
    )
    assert "from 1 to 100" in bad("dead letters limit=0").problem
    assert "yes or no" in bad("dead letters replayed=maybe").problem
    assert ok("dead letters").command.changes is False


def test_replay_takes_ids_or_all_and_is_a_change() -> None:
    assert ok("replay dead letters all").message == pb.ReplayDeadLettersRequest(all=True)
    assert ok("replay dead letters 3 #5,7").message == pb.ReplayDeadLettersRequest(ids=[3, 5, 7])
    assert ok("replay dead letters 3").command.changes is True
    assert "their ids" in bad("replay dead letters").problem
    for wrong in ("replay dead letters 0", "replay dead letters all 3", "replay dead letters three"):
        assert "not a dead letter id" in bad(wrong).problem, wrong
    assert "at most 100" in bad("replay dead letters " + " ".join(str(i) for i in range(1, 102))).problem


def test_the_replies_say_what_waits_why_and_what_was_sent() -> None:
    note = AlertNotification(status="firing", severity="critical")
    note.alerts.add().labels["alertname"] = "PetstoreDown"
    waiting = pb.DeadLetter(
        sequence=4, channel="C1", reason="Slack answers is_archived for C1", notification=note
    )
    done = pb.DeadLetter(sequence=2, reason="x", data=b"\x00\x01", replayed_by="slack:U1")
    text = to_text(
        render_reply("deadletters.list", pb.ListDeadLettersReply(dead_letters=[waiting, done], waiting=1))
    )
    assert "1 dead letter waiting" in text and "FIRING [critical] PetstoreDown" in text
    assert "is_archived" in text and "(unreadable, 2 bytes)" in text and "sent again by slack:U1" in text
    assert "replay dead letters all" in text
    assert "every alert notification reached chat" in to_text(
        render_reply("deadletters.list", pb.ListDeadLettersReply())
    )
    replayed = render_reply(
        "deadletters.replay", pb.ReplayDeadLettersReply(replayed=[4], skipped=["2: already sent again"])
    )
    assert (
        replayed.title == "Sent 1 dead letters to chat again: 4."
        and "Not sent: 2: already sent again" in to_text(replayed)
    )
    nothing = render_reply(
        "deadletters.replay", pb.ReplayDeadLettersReply(skipped=["9: there is no dead letter 9"])
    )
    assert not nothing.ok and nothing.title == "Nothing was sent again."
