"""Soak: alerts and commands for minutes while a loop SIGKILLs a random component every 20–40 s.

The stack: nats-server (JetStream on disk, identities and permissions on), the offline Slack, the
notifier, ops and two gateways (Socket Mode, one durable consumer between them). A driver posts
Alertmanager webhooks to the notifier (retrying until it answers 200, as Alertmanager does) for a
set of alert groups, each going through firing, changed, partly resolved and resolved, then firing
again as a new episode; another loop mentions the bot (`help`, `history limit=1`) now and then.
Meanwhile one of nats-server, the notifier, ops and either gateway is killed with SIGKILL and
started again a few seconds later; a component that exits by itself is started again too, as
`chatops up` does.

At the end every notification is looked up in the channel by the id in its Slack metadata: the
first of an episode must be one top-level message, every later one one thread reply.

    delivered   notifications shown by their own message or reply
    lost        notifications with none
    superseded  lost ones whose group went on to show a later notification (nothing of them is missing)
    duplicated  messages beyond the one each notification should have

    .venv/bin/python bench/soak.py [--minutes 10] [--kill-every 20 40] [--groups 12] [--interval 1.5]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from bench import arguments

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


from notifier.webhook import content_id, parse_payload, to_notification  # noqa: E402
from slackemu.client import EmulatorControl  # noqa: E402
from tools.harness import components  # noqa: E402
from tools.harness.alerts import webhook  # noqa: E402
from tools.harness.components import NOTIFIER_TOKEN, Service  # noqa: E402
from tools.harness.servers import NatsServer  # noqa: E402
from tools.harness.slackemu import SlackEmulator  # noqa: E402

# One group's episode: the instances firing at each step ([] = everything resolved).
EPISODE = [["h1"], ["h1", "h2"], ["h2"], []]


@dataclass
class Sent:
    """One notification the driver got a 200 for."""

    group: str
    episode: int
    step: int
    notification_id: str
    first_of_episode: bool


@dataclass
class Stack:
    work: Path
    nats: NatsServer
    slack: SlackEmulator
    parts: dict[str, Service] = field(default_factory=dict)
    kills: Counter[str] = field(default_factory=Counter)
    restarts: Counter[str] = field(default_factory=Counter)
    down: set[str] = field(default_factory=set)  # killed by the chaos loop, which starts it again

    def killable(self) -> list[str]:
        return ["nats", *self.parts]

    def kill(self, name: str) -> None:
        self.kills[name] += 1
        if name == "nats":
            self.nats.kill()
        else:
            self.parts[name].kill()

    def start(self, name: str) -> None:
        if name == "nats":
            self.nats.start()
        else:
            self.parts[name].start(wait=False)

    def running(self, name: str) -> bool:
        return (self.nats.proc if name == "nats" else self.parts[name].proc).running

    def stop_all(self) -> None:
        for part in self.parts.values():
            with contextlib.suppress(Exception):
                part.stop()
        self.nats.stop()
        self.slack.stop()


def body_for(group: str, episode: int, step: int) -> dict[str, Any]:
    firing = EPISODE[step]
    alerts = [(f"h{i}", "firing" if f"h{i}" in firing else "resolved") for i in (1, 2)]
    if step == 0:
        alerts = [("h1", "firing")]
    body = webhook(group, alerts)
    for alert in body["alerts"]:
        # A new episode is a new firing: its own start time, so its own content and id.
        alert["startsAt"] = f"2026-01-01T{episode % 24:02d}:00:00Z"
        alert["annotations"]["summary"] = f"{group} episode {episode} step {step}"
    return body


def notification_id(body: dict[str, Any]) -> str:
    return content_id(to_notification(parse_payload(json.dumps(body).encode())))


async def post(session: aiohttp.ClientSession, url: str, body: dict[str, Any]) -> None:
    """Until the notifier says 200 (Alertmanager retries the same way)."""
    while True:
        try:
            async with session.post(
                f"{url}/alerts", json=body, headers={"Authorization": f"Bearer {NOTIFIER_TOKEN}"}
            ) as resp:
                if resp.status == 200:
                    return
        except (aiohttp.ClientError, TimeoutError, OSError):
            pass
        await asyncio.sleep(0.5)


async def drive_alerts(stack: Stack, groups: int, interval: float, until: float) -> list[Sent]:
    sent: list[Sent] = []
    state = {f"Soak{g:02d}": (0, 0) for g in range(groups)}  # group -> (episode, step)
    url = stack.parts["notifier"].url
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        while time.monotonic() < until:
            for group, (episode, step) in list(state.items()):
                if time.monotonic() >= until:
                    break
                body = body_for(group, episode, step)
                await post(session, url, body)
                sent.append(Sent(group, episode, step, notification_id(body), step == 0))
                state[group] = (episode + 1, 0) if step == len(EPISODE) - 1 else (episode, step + 1)
                await asyncio.sleep(interval)
    return sent


async def drive_commands(control: EmulatorControl, channel: str, until: float) -> list[str]:
    user = await control.user_id("alice")
    asked: list[str] = []
    texts = ["help", "history limit=1"]
    while time.monotonic() < until:
        with contextlib.suppress(Exception):
            asked.append(await control.mention(user, channel, texts[len(asked) % 2]))
        await asyncio.sleep(5)
    return asked


async def chaos(stack: Stack, low: float, high: float, until: float, rng: random.Random) -> None:
    while True:
        await asyncio.sleep(rng.uniform(low, high))
        if time.monotonic() >= until:
            return
        name = rng.choice(stack.killable())
        print(f"  {time.strftime('%H:%M:%S')} kill -9 {name}", flush=True)
        stack.down.add(name)
        stack.kill(name)
        await asyncio.sleep(rng.uniform(1, 5))
        stack.start(name)
        stack.down.discard(name)


async def supervise(stack: Stack) -> None:
    """Start again what exited by itself (a gateway that lost NATS during its start-up, …)."""
    while True:
        await asyncio.sleep(1)
        for name in stack.killable():
            if name not in stack.down and not stack.running(name):
                stack.restarts[name] += 1
                with contextlib.suppress(Exception):
                    stack.start(name)


def count(messages: list[dict[str, Any]], kind: str) -> Counter[str]:
    found: Counter[str] = Counter()
    for msg in messages:
        meta = msg.get("metadata") or {}
        if meta.get("event_type") == kind:
            found[str((meta.get("event_payload") or {}).get("id", ""))] += 1
    return found


def tally(sent: list[Sent], messages: list[dict[str, Any]]) -> dict[str, int]:
    posts, replies = count(messages, "chatops_alert"), count(messages, "chatops_alert_reply")
    delivered = lost = superseded = duplicated = 0
    shown_later: dict[tuple[str, int], int] = {}
    for s in sent:
        if (posts if s.first_of_episode else replies)[s.notification_id]:
            key = (s.group, s.episode)
            shown_later[key] = max(shown_later.get(key, -1), s.step)
    for s in sent:
        n = (posts if s.first_of_episode else replies)[s.notification_id]
        if n:
            delivered += 1
            duplicated += n - 1
        elif shown_later.get((s.group, s.episode), -1) > s.step:
            superseded += 1
        else:
            lost += 1
    return {
        "sent": len(sent),
        "delivered": delivered,
        "lost": lost,
        "superseded": superseded,
        "duplicated": duplicated,
    }


async def settle(
    control: EmulatorControl, channel: str, sent: list[Sent], wait: float
) -> list[dict[str, Any]]:
    """The channel once every notification shows (or `wait` seconds passed)."""
    deadline = time.monotonic() + wait
    while True:
        messages = await control.messages(channel)
        figures = tally(sent, messages)
        if figures["delivered"] + figures["superseded"] >= figures["sent"] or time.monotonic() > deadline:
            return messages
        await asyncio.sleep(2)


async def run(args: argparse.Namespace) -> int:
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="chatops-soak-"))
    # Identities on: every component connects as itself, with the permissions of the access table.
    nats = NatsServer(work / "nats", identities=True).start()
    slack = SlackEmulator(work / "slackemu").start()
    stack = Stack(work, nats, slack)
    try:
        control = slack.control()
        await control.state()
        channel = await control.channel_id("oncall")
        stack.parts["notifier"] = components.notifier(work / "notifier", nats).start()
        stack.parts["ops"] = components.ops(work / "ops", nats).start()
        for name in ("gateway-1", "gateway-2"):
            gateway = components.gateway(
                work / name, nats, slack, name=name, SLACK_ONCALL_CHANNEL=channel, ALERTS_ACK_WAIT="5"
            )
            stack.parts[name] = gateway.start()
        await control.wait_connected(2, timeout=60)
        print(
            f"soak: {args.minutes} min, kills every {args.kill_every[0]:g}-{args.kill_every[1]:g}s, "
            f"work dir {work}"
        )
        started = time.monotonic()
        until = started + args.minutes * 60
        tasks = [
            asyncio.ensure_future(chaos(stack, args.kill_every[0], args.kill_every[1], until, rng)),
            asyncio.ensure_future(supervise(stack)),
        ]
        commands = asyncio.ensure_future(drive_commands(control, channel, until))
        sent = await drive_alerts(stack, args.groups, args.interval, until)
        asked = await commands
        for task in tasks:
            task.cancel()
        for name in stack.killable():  # everything up for the drain
            if not stack.running(name):
                stack.start(name)
        messages = await settle(control, channel, sent, args.drain)
        figures = tally(sent, messages)
        answered = Counter(m.get("thread_ts") for m in messages if m.get("user") == control.bot_user_id)
        command_replies = [answered.get(ts, 0) for ts in asked]
        print(
            f"ran {(time.monotonic() - started) / 60:.1f} min; kills: {dict(stack.kills)}; "
            f"restarted after exiting by themselves: {dict(stack.restarts)}"
        )
        print(
            "alerts: sent {sent}, delivered {delivered}, lost {lost}, superseded {superseded}, "
            "duplicated {duplicated}".format(**figures)
        )
        print(
            f"commands: asked {len(asked)}, answered {sum(1 for n in command_replies if n)}, "
            f"unanswered {sum(1 for n in command_replies if not n)}, "
            f"answered more than once {sum(1 for n in command_replies if n > 1)}"
        )
        await control.close()
        return 0 if figures["lost"] == 0 and figures["duplicated"] == 0 else 1
    finally:
        stack.stop_all()


def main() -> int:
    p = arguments(__doc__)
    p.add_argument("--minutes", type=float, default=10.0, help="how long to drive load and kill (default 10)")
    p.add_argument("--kill-every", type=float, nargs=2, default=(20.0, 40.0), metavar=("MIN", "MAX"))
    p.add_argument("--groups", type=int, default=12, help="alert groups cycling through their episodes")
    p.add_argument("--interval", type=float, default=1.5, help="seconds between two notifications")
    p.add_argument("--drain", type=float, default=180.0, help="seconds to wait for the last ones at the end")
    p.add_argument("--seed", type=int, default=None)
    return asyncio.run(run(p.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())
