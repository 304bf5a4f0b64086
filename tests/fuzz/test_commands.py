"""Ten thousand generated chat messages through the gateway's path, and what reaches ops on a real bus.

Every text goes through the gateway's own path in-process (parse, decide, render for Slack, and the
request as ops would decode it off the wire, binary and JSON). Each distinct request the texts make
then goes once to a real ops (and deployer) over a real bus: whatever the text, nothing crashes, each
message gets an answer or a usage message, and ops still answers a plain `version.get` within a second
after every hundred requests. A smaller sample goes through the Slack emulator, the real gateway
process and slack-bolt. The regex that used to pin ops is answered too.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Awaitable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pytest
from google.protobuf.message import Message
from nats.aio.client import Client

from chatops import codec, contract
from chatops.bus import Caller, CommandError, ServiceFailed, call
from chatops.contract import Command
from chatops.v1 import alerts_pb2, version_pb2
from gateway.commands import Request, parse
from gateway.flow import Answer, Confirm, Refuse, Run, decide, run
from gateway.render.notes import confirm_doc
from gateway.render.slack import MAX_BLOCKS, MAX_SECTION, to_slack
from gateway.render.text import to_text
from tests.fuzz.draw import drawn
from tests.fuzz.shapes import HOSTILE_REGEX, command_text
from tests.gateway.stack import World
from tools.harness.servers import running

pytestmark = pytest.mark.slow

BATCH = 100
BATCHES = 100  # 10,000 texts through the gateway's path
CHUNK = 100  # requests to ops between two checks that it still answers at once
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


@dataclass(frozen=True)
class Sent:
    """A request the gateway would send ops, once per distinct request: who sends it and one text."""

    request: Request
    actor: str
    text: str


async def on_the_wire(command: Command[Any, Any], request: Message, caller: Caller) -> Message:
    """What ops receives decodes to the request sent, in both encodings; the reply is an empty one."""
    for as_json in (False, True):
        wire = codec.encode(request, as_json=as_json)
        assert codec.decode(wire, command.request, as_json=as_json) == request
    reply: Message = command.reply()
    return reply


async def answered(text: str, actor: str, admins: tuple[str, ...]) -> tuple[str, Sent | None]:
    """One message the way the gateway handles it, in-process; the outcome, and what would go to ops."""
    step = decide(parse(text), actor, admins)
    sent = None
    if isinstance(step, Run | Confirm):
        if isinstance(step, Confirm):  # an admin's change: the question is rendered, then it runs
            check_slack_limits(text, to_slack(confirm_doc(step.request, 300)).blocks)
        sent = Sent(step.request, actor, text)
        answer = await run(step.request, Caller(actor=actor, actor_name="fuzz", source="fuzz"), on_the_wire)
    elif isinstance(step, Refuse):
        answer = Answer(step.doc, "refused")
    else:
        answer = step
    check_slack_limits(to_text(answer.doc), to_slack(answer.doc).blocks)
    return answer.outcome, sent


async def through_ops(nc: Client, sent: Sent) -> tuple[str, list[int]]:
    """One request to the real ops (or deployer) as the gateway sends it; the outcome and ops' error codes."""
    errors: list[CommandError] = []

    async def ask(command: Command[Any, Any], request: Message, caller: Caller) -> Message:
        try:
            return await call(nc, command, request, caller, timeout=COMMAND_TIMEOUT)
        except CommandError as exc:
            errors.append(exc)
            raise

    caller = Caller(actor=sent.actor, actor_name="fuzz", channel="CFUZZ", source="fuzz")
    answer = await run(sent.request, caller, ask)
    check_slack_limits(to_text(answer.doc), to_slack(answer.doc).blocks)
    return answer.outcome, [exc.code if isinstance(exc, ServiceFailed) else -1 for exc in errors]


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


async def to_ops(nc: Client, chunk: list[Sent]) -> list[tuple[Sent, str, list[int]]]:
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(sent: Sent) -> tuple[Sent, str, list[int]]:
        async with gate:
            return (sent, *await through_ops(nc, sent))

    return await asyncio.gather(*(one(s) for s in chunk))


def test_ten_thousand_generated_messages_get_answers_and_ops_stays_responsive(bus: Bus) -> None:
    texts = drawn(command_text(), BATCHES, BATCH)
    admin = bus.world.admin_id
    started = time.monotonic()
    outcomes: Counter[str] = Counter()
    distinct: dict[tuple[str, bytes], Sent] = {}
    for i, text in enumerate(texts):
        actor = f"slack:{admin}" if i % 2 else "slack:UFUZZER1"  # admins get Confirm, others Refuse
        outcome, sent = bus.run(answered(text, actor, (admin,)))
        assert outcome in ANSWERING, f"{outcome} for {text[:300]!r}"
        outcomes[outcome] += 1
        if sent is not None:  # ops answers the same request the same way: once is enough (changes
            # reach it from admins only, so who asks does not change the answer)
            key = (sent.request.command.name, sent.request.message.SerializeToString())
            distinct.setdefault(key, sent)
    in_process = time.monotonic() - started

    requests = list(distinct.values())
    replies: Counter[str] = Counter()
    for n in range(0, len(requests), CHUNK):
        for sent, outcome, codes in bus.run(to_ops(bus.client, requests[n : n + CHUNK])):
            ok = outcome in ANSWERING or (outcome == "error" and codes and set(codes) <= OPS_USAGE_CODES)
            assert ok, f"{outcome} {codes} for {sent.text[:300]!r}"
            replies[outcome] += 1
        bus.run(version_answers(bus.client))
    assert len(texts) >= BATCHES * BATCH
    # Most texts must reach ops, or the fuzzing only tested the parser.
    assert outcomes["ok"] > len(texts) // 3, outcomes
    assert sum(replies.values()) == len(requests) > len(texts) // 10, (len(requests), outcomes)
    print(
        f"{len(texts)} texts through the gateway's path in {in_process:.0f}s: {dict(outcomes)}; "
        f"{len(requests)} distinct requests through ops in {time.monotonic() - started - in_process:.0f}s: "
        f"{dict(replies)}"
    )


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
    texts = drawn(command_text(), 1, EMULATOR_SAMPLE)
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
