"""What ops decides about cards, pure: an ack on the card's latest ack event, and what a silence watcher
look at Alertmanager turns into an event."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from google.protobuf.timestamp_pb2 import Timestamp

from chatops.cardref import firing
from chatops.v1 import cards_pb2 as pb
from chatops.v1.records_pb2 import AlertMessageRecord
from ops.backends.alertmanager import AmAlert, Silence, SilenceMatcher
from ops.cards import Card
from ops.handlers.acks import decide
from ops.silencewatch import msg_id, next_event

T0 = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
NOW_NS = int((T0 + timedelta(minutes=5)).timestamp() * 1e9)


def card(*, episode: str = "n1", resolved: bool = False) -> Card:
    return Card("3fa2c1d0" + "0" * 32, AlertMessageRecord(ts="1.1", episode_id=episode, resolved=resolved))


def ack(acked: bool, episode: str = "n1") -> pb.AckEvent:
    return pb.AckEvent(acked=acked, episode=episode, actor="slack:U1")


def test_an_ack_is_decided_on_the_latest_ack_of_the_same_episode_and_never_reopens_a_resolved_card() -> None:
    assert decide(card(), None, True) == pb.ACK_OUTCOME_ACKED
    assert decide(card(), ack(True), True) == pb.ACK_OUTCOME_ALREADY_ACKED
    assert decide(card(), ack(False), True) == pb.ACK_OUTCOME_ACKED
    # An ack of the group's previous message (an earlier episode) does not hold for this one.
    assert decide(card(episode="n2"), ack(True, "n1"), True) == pb.ACK_OUTCOME_ACKED
    assert decide(card(), ack(True), False) == pb.ACK_OUTCOME_UNACKED
    assert decide(card(), None, False) == pb.ACK_OUTCOME_NOT_ACKED
    for last in (None, ack(True), ack(False)):
        for acked in (True, False):
            assert decide(card(resolved=True), last, acked) == pb.ACK_OUTCOME_RESOLVED


def silence(state: str = "active", *, ends: timedelta = timedelta(hours=1), comment: str = "x") -> Silence:
    return Silence(
        id="s1",
        matchers=(SilenceMatcher("alertname", "Down", False, True),),
        starts_at=T0,
        ends_at=T0 + ends,
        created_by="bob",
        comment=comment,
        state=state,
    )


ALERT = AmAlert("f1", (("alertname", "Down"),), T0, ("s1",))
KEY = ("f1", int(T0.timestamp() * 1000))


def step(
    last: pb.SilenceEvent | None, now: Silence, muted: list[AmAlert], *, young: bool = False
) -> pb.SilenceEvent | None:
    present = {KEY} if muted else set()
    return next_event(last, now, muted, present, young=young, now_ns=NOW_NS, url="http://am/#/silences/s1")


def test_the_watcher_records_a_silence_made_outside_chat_what_it_mutes_and_nothing_twice() -> None:
    made = step(None, silence(), [ALERT])
    assert made is not None and list(made.changes) == [pb.SILENCE_CHANGE_CREATED, pb.SILENCE_CHANGE_MUTED]
    assert made.created_by == "bob" and not made.actor and made.observed
    assert [(a.fingerprint, a.alertname, a.muted) for a in made.alerts] == [("f1", "Down", True)]
    assert step(made, silence(), [ALERT]) is None  # nothing changed: no event
    assert step(None, silence("expired"), []) is None  # ended before anyone looked


def test_a_silence_changed_then_ended_each_make_an_event_and_the_chat_actor_is_kept() -> None:
    from_chat = pb.SilenceEvent(silence_id="s1", state="active", actor="slack:U1", actor_name="alice")
    seen = step(from_chat, silence(), [ALERT])
    assert seen is not None and seen.actor == "slack:U1"  # who asked ops stays on it
    longer = step(seen, silence(ends=timedelta(hours=2)), [ALERT])
    assert longer is not None and list(longer.changes) == [pb.SILENCE_CHANGE_CHANGED]
    ended = next_event(longer, silence("expired"), [], {KEY}, young=False, now_ns=NOW_NS, url="")
    assert ended is not None and pb.SILENCE_CHANGE_ENDED in ended.changes
    assert not ended.alerts[0].muted and not ended.alerts[0].HasField("resolved_at")  # still firing


def test_an_alert_gone_while_silenced_is_resolved_unless_alertmanager_just_started() -> None:
    seen = step(None, silence(), [ALERT])
    assert seen is not None
    # Alertmanager restarted and has not heard from Prometheus yet: missing is not resolved.
    assert next_event(seen, silence(), [], set(), young=True, now_ns=NOW_NS, url="") is None
    gone = next_event(seen, silence(), [], set(), young=False, now_ns=NOW_NS, url="")
    assert gone is not None and list(gone.changes) == [pb.SILENCE_CHANGE_RESOLVED]
    assert gone.alerts[0].resolved_at.ToNanoseconds() == NOW_NS and not gone.alerts[0].muted


def test_two_replicas_seeing_the_same_state_append_it_once() -> None:
    first = step(None, silence(), [ALERT])
    assert first is not None
    second = pb.SilenceEvent()
    second.CopyFrom(first)
    second.time.FromNanoseconds(NOW_NS + 10**9)  # looked a second later
    assert msg_id(first) == msg_id(second)
    changed = step(first, silence(comment="y"), [ALERT])
    assert changed is not None and msg_id(changed) != msg_id(first)


def test_a_firing_is_the_same_in_a_notification_in_nanoseconds_and_in_the_api_in_milliseconds() -> None:
    webhook, api = Timestamp(), Timestamp()
    webhook.FromJsonString("2026-11-30T01:05:24.425159123Z")
    api.FromJsonString("2026-11-30T01:05:24.425Z")
    assert firing("f1", webhook) == firing("f1", api)
    api.FromJsonString("2026-11-30T01:05:24.426Z")
    assert firing("f1", webhook) != firing("f1", api)
