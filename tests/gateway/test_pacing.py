"""The pacer, on a clock moved by hand: posts spaced per channel, channels independent, people first."""

from __future__ import annotations

import asyncio

import pytest

from gateway.render.slack import SlackMessage, SlackUpload
from gateway.slack.chat import ChatError, Failure, Posted, Tag
from gateway.slack.pacing import TIER_3, Pacer, Priority


class FakeClock:
    """Time stands still until `advance`; sleepers wake when their moment has come."""

    def __init__(self) -> None:
        self.t = 0.0
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sleepers.append((self.t + seconds, ready))
        await ready

    async def advance(self, seconds: float) -> None:
        self.t += seconds
        for when, ready in list(self._sleepers):
            if when <= self.t + 1e-9 and not ready.done():
                ready.set_result(None)
        self._sleepers = [(w, r) for w, r in self._sleepers if not r.done()]
        await settle()


async def settle() -> None:
    """Let every task run until it waits on the clock or a call (no time passes)."""
    for _ in range(50):
        await asyncio.sleep(0)


class FakeSlack:
    """Records each call with the clock's time; `limit_next` answers the next N posts 429."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.calls: list[tuple[float, str, str, str]] = []
        self.limit_next = 0
        self.names = {"U1": "ada"}

    async def post(
        self, channel: str, message: SlackMessage, thread_ts: str = "", tag: Tag | None = None
    ) -> Posted:
        if self.limit_next:
            self.limit_next -= 1
            self.calls.append((self.clock.now(), "429", channel, message.text))
            raise ChatError(Failure.RATE_LIMITED, "ratelimited", retry_after=2.0)
        self.calls.append((self.clock.now(), "post", channel, message.text))
        return Posted(channel, f"{len(self.calls)}.0")

    async def find(self, channel: str, tag: Tag, *, thread_ts: str = "", oldest: float = 0.0) -> str | None:
        return None

    async def upload(self, channel: str, upload: SlackUpload, thread_ts: str = "") -> str:
        self.calls.append((self.clock.now(), "upload", channel, upload.filename))
        return "F1"

    async def update(self, channel: str, ts: str, message: SlackMessage) -> None:
        self.calls.append((self.clock.now(), "update", channel, message.text))

    async def ephemeral(self, channel: str, user: str, text: str, thread_ts: str = "") -> None:
        self.calls.append((self.clock.now(), "ephemeral", channel, text))

    async def react(self, channel: str, ts: str, name: str) -> None:
        self.calls.append((self.clock.now(), "react", channel, name))

    async def user_name(self, user: str) -> str:
        self.calls.append((self.clock.now(), "users.info", "", user))
        return self.names.get(user, user)

    def cached_name(self, user: str) -> str | None:
        return self.names.get(user) if user == "U1" else None

    def times(self, channel: str, kind: str = "post") -> list[float]:
        return [t for t, k, c, _ in self.calls if c == channel and k == kind]

    def texts(self, channel: str) -> list[str]:
        return [text for _, k, c, text in self.calls if c == channel and k == "post"]


def msg(text: str) -> SlackMessage:
    return SlackMessage(text=text, blocks=())


@pytest.fixture
def parts() -> tuple[FakeClock, FakeSlack, Pacer]:
    clock = FakeClock()
    slack = FakeSlack(clock)
    return clock, slack, Pacer(slack, post_rate=1.0, post_burst=3, clock=clock)


async def test_a_burst_is_spaced_per_channel_and_one_channel_never_holds_up_another(
    parts: tuple[FakeClock, FakeSlack, Pacer],
) -> None:
    clock, slack, pacer = parts
    alerts, people = pacer.chat(Priority.ALERT), pacer.chat(Priority.PERSON)
    posts = [asyncio.create_task(alerts.post("C_ONCALL", msg(f"alert {n}"))) for n in range(10)]
    await settle()
    assert slack.times("C_ONCALL") == [0.0] * 3  # the burst goes at once, the rest wait
    others = [asyncio.create_task(alerts.post("C_TEAM", msg(f"team {n}"))) for n in range(2)]
    reply = asyncio.create_task(people.post("C_DEV", msg("sampling is float 0.1")))
    await settle()
    # Ten alerts queued in #oncall hold up neither another channel's alerts nor a person's reply.
    assert slack.times("C_TEAM") == [0.0, 0.0] and slack.times("C_DEV") == [0.0] and reply.done()
    for _ in range(7):
        await clock.advance(1.0)
    assert slack.times("C_ONCALL") == [0.0, 0.0, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]
    assert slack.texts("C_ONCALL") == [f"alert {n}" for n in range(10)]  # in the order they came
    assert all(p.done() for p in posts + others)


async def test_a_person_goes_before_the_alerts_waiting_in_the_same_channel(
    parts: tuple[FakeClock, FakeSlack, Pacer],
) -> None:
    clock, slack, pacer = parts
    alerts, people = pacer.chat(Priority.ALERT), pacer.chat(Priority.PERSON)
    queued = [asyncio.create_task(alerts.post("C_ONCALL", msg(f"alert {n}"))) for n in range(6)]
    await settle()
    reply = asyncio.create_task(people.post("C_ONCALL", msg("here is your answer")))
    await settle()
    assert not reply.done()  # the channel's burst is spent: even a person waits for the pace
    await clock.advance(1.0)
    assert reply.done() and slack.texts("C_ONCALL")[3] == "here is your answer"
    for _ in range(3):
        await clock.advance(1.0)
    assert slack.texts("C_ONCALL")[4:] == ["alert 3", "alert 4", "alert 5"] and all(q.done() for q in queued)


async def test_a_429_is_waited_out_and_the_call_made_again(parts: tuple[FakeClock, FakeSlack, Pacer]) -> None:
    clock, slack, pacer = parts
    slack.limit_next = 1
    post = asyncio.create_task(pacer.chat(Priority.ALERT).post("C_ONCALL", msg("firing")))
    follow = asyncio.create_task(pacer.chat(Priority.ALERT).post("C_ONCALL", msg("second")))
    await settle()
    assert [k for _, k, _, _ in slack.calls] == ["429"]  # and then nothing more goes to that channel
    await clock.advance(1.0)
    assert not post.done() and not follow.done()  # Retry-After is 2 s: the lane holds until then
    await clock.advance(1.0)
    assert post.done() and post.result().channel == "C_ONCALL" and follow.done()
    assert slack.times("C_ONCALL") == [2.0, 2.0] and slack.texts("C_ONCALL") == ["firing", "second"]
    assert pacer.rate_limited == 1


async def test_a_429_past_the_retries_reaches_the_caller() -> None:
    clock = FakeClock()
    slack = FakeSlack(clock)
    pacer = Pacer(slack, clock=clock, retries=1)
    slack.limit_next = 2
    post = asyncio.create_task(pacer.chat(Priority.ALERT).post("C_ONCALL", msg("firing")))
    await settle()
    await clock.advance(2.0)
    with pytest.raises(ChatError) as caught:
        await post
    assert caught.value.failure is Failure.RATE_LIMITED  # delivery's own retry takes it from here


async def test_other_methods_keep_to_their_tier(parts: tuple[FakeClock, FakeSlack, Pacer]) -> None:
    clock, slack, pacer = parts
    chat = pacer.chat(Priority.ALERT)
    updates = [asyncio.create_task(chat.update("C_ONCALL", f"{n}.0", msg("resolved"))) for n in range(12)]
    await settle()
    assert len(slack.times("C_ONCALL", "update")) == 10  # chat.update is tier 3 with a burst of 10
    await clock.advance(1 / TIER_3)
    assert len(slack.times("C_ONCALL", "update")) == 11
    await clock.advance(1 / TIER_3)
    assert all(u.done() for u in updates)
    assert slack.times("C_ONCALL") == []  # updates do not use up the channel's posts


async def test_a_slack_with_higher_limits_gets_its_tiers_scaled() -> None:
    clock = FakeClock()
    slack = FakeSlack(clock)
    chat = Pacer(slack, clock=clock, tier_scale=10).chat(Priority.ALERT)
    updates = [asyncio.create_task(chat.update("C_ONCALL", f"{n}.0", msg("resolved"))) for n in range(101)]
    await settle()
    assert len(slack.times("C_ONCALL", "update")) == 100  # tier 3's burst of 10, ten times
    await clock.advance(1 / (10 * TIER_3))
    assert all(u.done() for u in updates)


async def test_cached_names_are_not_paced_and_uploads_count_against_the_channel(
    parts: tuple[FakeClock, FakeSlack, Pacer],
) -> None:
    clock, slack, pacer = parts
    chat = pacer.chat(Priority.PERSON)
    assert [await chat.user_name("U1") for _ in range(50)] == ["ada"] * 50
    assert await chat.user_name("U2") == "U2"
    assert [c[1] for c in slack.calls] == ["users.info"]  # only the one Slack had to be asked about
    for n in range(3):
        await chat.post("C_DEV", msg(f"reply {n}"))
    upload = asyncio.create_task(
        chat.upload("C_DEV", SlackUpload("g.png", b"png", "graph", "a graph", "the graph"))
    )
    await settle()
    assert not upload.done()  # a shared file is a message in the channel: it waits for the pace
    await clock.advance(1.0)
    assert upload.done() and slack.times("C_DEV", "upload") == [1.0]


async def test_a_caller_that_gives_up_does_not_hold_up_the_lane(
    parts: tuple[FakeClock, FakeSlack, Pacer],
) -> None:
    clock, slack, pacer = parts
    chat = pacer.chat(Priority.ALERT)
    for n in range(3):
        await chat.post("C_ONCALL", msg(f"burst {n}"))
    gone = asyncio.create_task(chat.post("C_ONCALL", msg("gone")))
    kept = asyncio.create_task(chat.post("C_ONCALL", msg("kept")))
    await settle()
    gone.cancel()
    await clock.advance(1.0)
    assert kept.done() and slack.texts("C_ONCALL")[-1] == "kept" and "gone" not in slack.texts("C_ONCALL")


async def test_idle_lanes_are_forgotten(parts: tuple[FakeClock, FakeSlack, Pacer]) -> None:
    clock, _, pacer = parts
    chat = pacer.chat(Priority.ALERT)
    for n in range(500):
        await chat.post(f"C{n:04d}", msg("x"))
        clock.t += 10  # every lane is full again by the next one
    assert len(pacer.channels) <= 65
