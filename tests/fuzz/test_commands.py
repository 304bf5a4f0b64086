"""Ten thousand generated chat messages through the gateway's path to a real ops on a real bus.

The gateway's own path (parse, decide, run over NATS, render for Slack) is driven directly for speed;
a smaller sample goes through the Slack emulator, the real gateway process and slack-bolt. Whatever
the text, nothing crashes, each message gets an answer or a usage message, and ops still answers a
plain `version.get` within a second afterwards. The regex that used to pin ops is answered too.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pytest
from google.protobuf.message import Message
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from nats.aio.client import Client

from chatops import contract
from chatops.bus import Caller, CommandError, ServiceFailed, call
from chatops.contract import Command
from chatops.v1 import alerts_pb2, version_pb2
from gateway.commands import parse
from gateway.flow import Answer, Confirm, Refuse, Run, decide, run
from gateway.render.notes import confirm_doc
from gateway.render.slack import MAX_BLOCKS, MAX_SECTION, to_slack
from gateway.render.text import to_text
from tests.fuzz.shapes import HOSTILE_REGEX, command_text
from tests.gateway.stack import World
from tools.harness.servers import running

pytestmark = pytest.mark.slow

BATCH = 100
BATCHES = 100  # 10,000 texts through the gateway's path
EMULATOR_SAMPLE = 300
CONCURRENCY = 16  # below ops' 32 per command, so "busy" is not what is tested here
COMMAND_TIMEOUT = 10.0  # a fuzzed command may wait on a backend under load; it must still answer
ANSWERING = {"ok", "help", "usage", "refused"}
OPS_USAGE_CODES = {400, 404}  # ops' own "bad request" and "no such trace" are usage messages too
T = TypeVar("T")


@dataclass
class Bus:
    """A connection to the world's NATS on an event loop of this module's own (tests here are sync)."""

    world: World
    loop: asyncio.AbstractEventLoop = field(default_factory=asyncio.new_event_loop)
    nc: Client | None = None

    def run(self, coro: Awaitable[T]) -> T:
        return self.loop.run_until_complete(coro)

    @property
    def client(self) -> Client:
        assert self.nc is not None
        return self.nc


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with running(
        World(
            tmp_path_factory.mktemp("fuzz"),
            socket_mode=True,
            with_prometheus=True,
            slack_rate=1000,
            with_deployer=True,
        )
    ) as w:
        yield w


@pytest.fixture(scope="module")
def bus(world: World) -> Iterator[Bus]:
    b = Bus(world)
    b.nc = b.run(world.nats.connect("gateway"))  # the fuzzer speaks for Slack users, as the gateway does
    try:
        yield b
    finally:
        b.run(b.client.close())
        b.loop.close()


def check_slack_limits(doc_text: str, blocks: tuple[dict[str, Any], ...]) -> None:
    assert len(blocks) <= MAX_BLOCKS
    for block in blocks:
        text = block.get("text", {}).get("text", "")
        assert len(text) <= MAX_SECTION, doc_text[:200]


async def through_the_gateway(
    nc: Client, text: str, actor: str, admins: tuple[str, ...]
) -> tuple[str, list[int]]:
    """One message the way the gateway handles it; returns the outcome and the codes of ops' errors."""
    errors: list[CommandError] = []

    async def ask(command: Command[Any, Any], request: Message, caller: Caller) -> Message:
        try:
            return await call(nc, command, request, caller, timeout=COMMAND_TIMEOUT)
        except CommandError as exc:
            errors.append(exc)
            raise

    step = decide(parse(text), actor, admins)
    caller = Caller(actor=actor, actor_name="fuzz", channel="CFUZZ", source="fuzz")
    if isinstance(step, Run):
        answer = await run(step.request, caller, ask)
    elif isinstance(step, Answer):
        answer = step
    elif isinstance(step, Refuse):
        answer = Answer(step.doc, "refused")
    else:
        # An admin's change: the question is rendered, then it runs as if Confirm was clicked.
        assert isinstance(step, Confirm)
        question = to_slack(confirm_doc(step.request, 300))
        check_slack_limits(text, question.blocks)
        answer = await run(step.request, caller, ask)
    message = to_slack(answer.doc)
    check_slack_limits(to_text(answer.doc), message.blocks)
    codes = [exc.code if isinstance(exc, ServiceFailed) else -1 for exc in errors]
    return answer.outcome, codes


async def version_answers(nc: Client) -> version_pb2.GetVersionReply:
    """A plain version.get with a one-second request timeout: it must come back with versions."""
    reply = await call(
        nc,
        contract.command("version.get"),
        version_pb2.GetVersionRequest(),
        Caller("fuzz:probe"),
        timeout=1.0,
    )
    assert isinstance(reply, version_pb2.GetVersionReply)
    return reply


async def run_batch(nc: Client, texts: list[str], admin: str) -> list[tuple[str, str, list[int]]]:
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(i: int, text: str) -> tuple[str, str, list[int]]:
        actor = f"slack:{admin}" if i % 2 else "slack:UFUZZER1"  # admins get Confirm, others Refuse
        async with gate:
            outcome, codes = await through_the_gateway(nc, text, actor, (admin,))
        return text, outcome, codes

    return await asyncio.gather(*(one(i, t) for i, t in enumerate(texts)))


def test_ten_thousand_generated_messages_get_answers_and_ops_stays_responsive(bus: Bus) -> None:
    seen: list[str] = []
    outcomes: dict[str, int] = {}
    started = time.monotonic()

    @settings(
        max_examples=BATCHES,
        deadline=None,
        phases=(Phase.explicit, Phase.reuse, Phase.generate),
        suppress_health_check=list(HealthCheck),
    )
    @given(st.lists(command_text(), min_size=BATCH, max_size=BATCH))
    def batch(texts: list[str]) -> None:
        results = bus.run(run_batch(bus.client, texts, bus.world.admin_id))
        for text, outcome, codes in results:
            ok = outcome in ANSWERING or (outcome == "error" and codes and set(codes) <= OPS_USAGE_CODES)
            assert ok, f"{outcome} {codes} for {text[:300]!r}"
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        bus.run(version_answers(bus.client))
        seen.extend(texts)

    batch()
    assert len(seen) >= BATCHES * BATCH
    # Most texts must reach ops, or the fuzzing only tested the parser.
    assert outcomes.get("ok", 0) + outcomes.get("error", 0) > len(seen) // 3, outcomes
    print(f"{len(seen)} texts through the gateway's path in {time.monotonic() - started:.0f}s: {outcomes}")


def test_the_hostile_regex_is_answered_from_chat_and_from_a_plain_client(bus: Bus) -> None:
    async def scenario() -> None:
        nc = bus.client
        hostile = alerts_pb2.ListAlertsRequest(labels=[f"alertname=~{HOSTILE_REGEX}"])
        # From a plain bus client, ten at once, each with a one-second request timeout.
        plain = [
            call(nc, contract.command("alerts.list"), hostile, Caller("script:fuzz"), timeout=1.0)
            for _ in range(10)
        ]
        # From chat: the gateway's path with the same timeout.
        chat_text = f"alerts labels=[alertname=~{HOSTILE_REGEX}]"

        async def from_chat() -> str:
            errors: list[CommandError] = []

            async def ask(command: Command[Any, Any], request: Message, caller: Caller) -> Message:
                try:
                    return await call(nc, command, request, caller, timeout=1.0)
                except CommandError as exc:
                    errors.append(exc)
                    raise

            step = decide(parse(chat_text), "slack:UFUZZER1", ())
            assert isinstance(step, Run)
            answer = await run(step.request, Caller("slack:UFUZZER1"), ask)
            assert answer.outcome == "ok", errors
            return answer.doc.title

        *answers, chat_title, version = await asyncio.gather(*plain, from_chat(), version_answers(nc))
        for reply in answers:
            assert isinstance(reply, alerts_pb2.ListAlertsReply)
            assert list(reply.alerts) == []  # no alert name ends in "!"
        assert chat_title == "No active alerts."
        assert isinstance(version, version_pb2.GetVersionReply) and version.versions  # others still answered

    bus.run(scenario())


def test_a_sample_through_the_emulator_and_the_real_gateway(bus: Bus) -> None:
    texts: list[str] = []

    @settings(
        max_examples=1, deadline=None, suppress_health_check=list(HealthCheck), phases=(Phase.generate,)
    )
    @given(st.lists(command_text(), min_size=EMULATOR_SAMPLE, max_size=EMULATOR_SAMPLE))
    def draw(drawn: list[str]) -> None:
        texts[:] = drawn

    draw()
    texts.append(f"alerts labels=[alertname=~{HOSTILE_REGEX}]")
    world = bus.world

    async def scenario() -> list[tuple[str, str]]:
        async with world.slack.control() as control:
            await control.state()
            bot = control.bot_user_id
            channels = [await control.create_channel(f"fuzz-{i}") for i in range(10)]
            user = await control.create_user("fuzzer", "Fuzz Er")
            out: list[tuple[str, str]] = []

            async def lane(channel: str, mine: list[str]) -> None:
                for text in mine:
                    ts = await control.mention(user, channel, f"<@{bot}> {text}")
                    reply = await control.wait_for_message(channel, thread_ts=ts, timeout=60)
                    out.append((text, json.dumps(reply)))

            await asyncio.gather(*(lane(c, texts[i :: len(channels)]) for i, c in enumerate(channels)))
            return out

    started = time.monotonic()
    replies = bus.run(scenario())
    assert len(replies) == len(texts)
    for text, reply in replies:
        for bad in ("failed inside the gateway", "did not answer", "not answering", "failed (50"):
            assert bad not in reply, f"{bad!r} for {text[:300]!r}: {reply[:500]}"
    hostile = next(reply for text, reply in replies if text == texts[-1])
    assert "No active alerts." in hostile
    bus.run(version_answers(bus.client))
    print(f"{len(texts)} texts through the emulator and the gateway in {time.monotonic() - started:.0f}s")
