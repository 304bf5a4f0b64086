"""The production shape on loopback, for tests and benchmarks: three NATS nodes with every stream at
R3, two of ops, the notifier and the gateway, an Alertmanager HA pair sending each notification to
both notifiers, and the offline Slack; each process restartable on its own.

`Alerts` fires and resolves groups of alerts in both Alertmanagers (as Prometheus sends to every
Alertmanager it knows), and `Chatter` sends chat commands one after another and keeps what it sent,
so that a scenario can count what Slack shows: each group posted once, each command answered once.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from chatops.launcher.spec import alertmanager_component
from chatops.lifecycle import cancelled
from slackemu.client import EmulatorControl
from tools.harness import components
from tools.harness.alerts import flat, replies, top_level
from tools.harness.cluster import NatsCluster, wait_caught_up
from tools.harness.components import NOTIFIER_TOKEN, Service, get_json
from tools.harness.ports import LOOPBACK, free_port
from tools.harness.procs import Process
from tools.harness.servers import Alertmanager, all_or_nothing, binary
from tools.harness.slackemu import SlackEmulator
from tools.harness.wait import eventually, eventually_sync

START = 60.0  # seconds a process gets to become healthy
# Test-sized waits: Alertmanager sends a group a second after its first alert, changes 2 s apart.
ROUTE = {"group_by": ["alertname"], "group_wait": "1s", "group_interval": "2s", "repeat_interval": "1h"}
COMMAND = "history limit=1"  # served by ops from CHATOPS_AUDIT: the bus alone, no other backend


def alertmanager_config(notifier_urls: list[str]) -> dict[str, object]:
    """One receiver with a webhook to each notifier (each stores what it gets; the bus keeps one)."""
    hooks = [
        {
            "url": f"{url}/alerts",
            "send_resolved": True,
            "http_config": {"authorization": {"type": "Bearer", "credentials": NOTIFIER_TOKEN}},
        }
        for url in notifier_urls
    ]
    return {
        "route": {"receiver": "chatops-notifiers", **ROUTE},
        "receivers": [{"name": "chatops-notifiers", "webhook_configs": hooks}],
    }


def ha_pair(workdir: Path, config: dict[str, object]) -> list[Alertmanager]:
    """Two Alertmanagers gossiping with each other (`--cluster.peer`): each notification goes out once
    from the pair, and from the other if one is down."""
    pair = [Alertmanager(workdir / f"alertmanager-{n}", config) for n in (1, 2)]
    gossip = [free_port(), free_port()]
    for n, am in enumerate(pair):
        am.proc.component = alertmanager_component(
            binary("prometheus-alertmanager", "alertmanager"),
            am.port,
            am.workdir / "alertmanager.yml",
            am.workdir / "am-data",
            cluster_port=gossip[n],
            peers=(f"{LOOPBACK}:{gossip[1 - n]}",),
            name=f"alertmanager-{n + 1}",
        )
    return pair


@dataclass
class Part:
    """One process of the shape, by name, and how to restart it (a NATS node waits to catch up)."""

    name: str
    proc: Process
    after_start: Callable[[], None] = lambda: None

    async def restart(self) -> None:
        """SIGTERM, start, await healthy; the loop goes on meanwhile (a trickle of commands, say)."""
        await asyncio.to_thread(self.proc.stop)
        await start(self.proc)
        await asyncio.to_thread(self.after_start)


async def start(proc: Process) -> None:
    """Start `proc` from this thread and await its health check in another, so the loop goes on.

    Started from a worker thread, a process would get the parent-death signal when that thread ends
    (it is the thread's, not the process's: see chatops.launcher.process), long before the run does.
    """
    proc.start(wait=False)
    await asyncio.to_thread(proc.wait_healthy, START)


class Scaled:
    """The whole shape in `root`; `start()` brings every part up and healthy, `stop()` takes it down."""

    def __init__(self, root: Path, *, ops_env: dict[str, str] | None = None) -> None:
        """`ops_env`: ops' settings on top of the harness's (a PETSTORE_ADDR, say)."""
        self.root = root
        self.cluster = NatsCluster(root / "nats")
        self.slack = SlackEmulator(root / "slack", rate_per_sec=0)
        extra = ops_env or {}
        self.ops = [components.ops(root / f"ops-{n}", self.cluster, name=f"ops-{n}", **extra) for n in (1, 2)]
        self.notifiers = [components.notifier(root / f"notifier-{n}", self.cluster) for n in (1, 2)]
        for n, notifier in enumerate(self.notifiers, start=1):
            notifier.proc.component = replace(notifier.proc.component, name=f"notifier-{n}")
        self.alertmanagers = ha_pair(root, alertmanager_config([n.url for n in self.notifiers]))
        self.gateways: list[Service] = []
        self.oncall = ""
        self._started: list[Process] = []

    # -- lifecycle ------------------------------------------------------------------------------------
    def start(self) -> Scaled:
        all_or_nothing(self._start, self.stop)
        return self

    def _start(self) -> None:
        self.cluster.start()
        for am in self.alertmanagers:
            am.workdir.mkdir(parents=True, exist_ok=True)
            (am.workdir / "alertmanager.yml").write_text(yaml.safe_dump(am.config))
        first = [self.slack.proc, *(a.proc for a in self.alertmanagers), *(s.proc for s in self.ops)]
        self._start_together([*first, *(s.proc for s in self.notifiers)])
        state = get_json(f"{self.slack.base_url}/control/state")
        self.oncall = next(c["id"] for c in state["channels"] if c["name"] == "oncall")
        self.gateways = [
            components.gateway(
                self.root / f"gateway-{n}",
                self.cluster,
                self.slack,
                name=f"gateway-{n}",
                SLACK_ONCALL_CHANNEL=self.oncall,
                # No pacing of its own: the offline Slack's per-channel limit is off here.
                SLACK_POST_RATE="1000",
                SLACK_POST_BURST="1000",
                # A notification held by a gateway that died comes back after 5 s (the least allowed).
                ALERTS_ACK_WAIT="5",
                ALERT_GRAPHS="false",
                CHATOPS_COMMAND_TIMEOUT="8",
            )
            for n in (1, 2)
        ]
        self._start_together([g.proc for g in self.gateways])
        self.wait_sockets(2)

    def _start_together(self, procs: list[Process]) -> None:
        """Start every process at once (two cores start Pythons faster side by side), then await each."""
        for proc in procs:
            proc.start(wait=False)
            self._started.append(proc)
        for proc in procs:
            proc.wait_healthy(START)

    def stop(self) -> None:
        for proc in reversed(self._started):
            proc.stop()
        self._started.clear()
        self.cluster.stop()

    def wait_sockets(self, count: int) -> None:
        """Until the offline Slack holds `count` Socket Mode connections (one per gateway)."""
        eventually_sync(
            lambda: get_json(f"{self.slack.base_url}/control/state")["socket_connections"] == count,
            timeout=START,
            what=f"{count} Socket Mode connections",
        )

    def parts(self, *, replicas: int = 2) -> list[Part]:
        """Every process but the offline Slack, in the order a rolling restart takes them; with
        `replicas=1` every NATS node and one of each replicated component (the other is the same)."""
        nodes = [
            Part(f"nats-{i + 1}", proc, lambda: wait_caught_up(self.cluster))
            for i, proc in enumerate(self.cluster.procs)
        ]
        return [
            *nodes,
            *(Part(a.proc.name, a.proc) for a in self.alertmanagers[:replicas]),
            *(Part(s.name, s.proc) for s in self.ops[:replicas]),
            *(Part(s.name, s.proc) for s in self.notifiers[:replicas]),
            *(Part(g.name, g.proc, lambda: self.wait_sockets(2)) for g in self.gateways[:replicas]),
        ]

    def logs(self) -> str:
        """The tail of every process's log, for a failed test's message."""
        procs = [*self.cluster.procs, *self._started]
        return "\n".join(f"--- {p.name}\n{p.log_tail(25)}" for p in procs)


# -- alerts ---------------------------------------------------------------------------------------------
@dataclass
class Alerts:
    """Groups of alerts named for one run, fired and resolved in every Alertmanager of the pair.

    As Prometheus does, it sends every alert it knows again each `resend` seconds while `resending()`
    (the firing ones and, for a while, the resolved ones): an Alertmanager keeps alerts in memory
    only, and one restarted learns them again this way.
    """

    alertmanagers: list[Alertmanager]
    groups: int
    per_group: int
    resend: float = 1.0
    tag: str = field(default_factory=lambda: secrets.token_hex(3))
    _started: dict[int, datetime] = field(default_factory=dict)
    _ended: dict[int, datetime] = field(default_factory=dict)
    # One sender at a time, as Prometheus is: a resend of a group's firing alerts still under way
    # while its resolve goes out could reach Alertmanager after the resolve and fire it again.
    _sending: asyncio.Lock = field(default_factory=asyncio.Lock)

    def name(self, group: int) -> str:
        return f"Scale{self.tag}G{group:02d}"

    def _alerts(self, group: int) -> list[dict[str, object]]:
        starts = self._started[group]
        ends = self._ended.get(group, datetime.now(UTC) + timedelta(hours=1))
        return [
            {
                "labels": {"alertname": self.name(group), "severity": "warning", "instance": f"host-{i}"},
                "annotations": {"summary": f"{self.name(group)} on host-{i}"},
                "startsAt": starts.isoformat(),
                "endsAt": ends.isoformat(),
            }
            for i in range(self.per_group)
        ]

    async def send(self, groups: range, *, resolved: bool = False) -> None:
        """Fire (or resolve) each group's alerts: sent to both Alertmanagers, a group in one request."""
        now = datetime.now(UTC)
        for group in groups:
            self._started.setdefault(group, now - timedelta(minutes=1))
            if resolved:
                self._ended[group] = now - timedelta(seconds=1)
        await self._post(list(groups))

    async def _post(self, groups: list[int]) -> None:
        """Each group to each Alertmanager; one that is down is skipped (the next resend reaches it)."""
        async with self._sending, aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http:
            for group in groups:
                body = self._alerts(group)
                for am in self.alertmanagers:
                    with contextlib.suppress(aiohttp.ClientConnectionError, TimeoutError):
                        async with http.post(f"{am.url}/api/v2/alerts", json=body) as resp:
                            if resp.status != 200:
                                raise AssertionError(f"{am.url} answered {resp.status}: {await resp.text()}")

    @contextlib.asynccontextmanager
    async def resending(self) -> AsyncIterator[None]:
        """Every alert sent so far sent again each `resend` seconds, until the block ends."""

        async def again() -> None:
            while True:
                await asyncio.sleep(self.resend)  # a pace, like Prometheus' resend delay: no condition
                await self._post(sorted(self._started))

        task = asyncio.get_running_loop().create_task(again())
        try:
            yield
        finally:
            await cancelled(task)

    async def shown(self, control: EmulatorControl, channel: str) -> dict[str, list[dict[str, Any]]]:
        """Each group's top-level messages in `channel` (a group posted once has exactly one)."""
        tops = top_level(await control.messages(channel))
        return {self.name(g): [t for t in tops if self.name(g) in flat(t)] for g in range(self.groups)}

    async def wait_posted(
        self, control: EmulatorControl, channel: str, groups: range, timeout: float = 60.0
    ) -> None:
        async def posted() -> bool:
            shown = await self.shown(control, channel)
            return all(shown[self.name(g)] for g in groups)

        await eventually(posted, timeout=timeout, interval=0.2, what=f"groups {groups} posted")

    async def wait_resolved(
        self, control: EmulatorControl, channel: str, groups: range, timeout: float = 60.0
    ) -> None:
        async def resolved() -> bool:
            messages = await control.messages(channel)
            shown = await self.shown(control, channel)
            return all(
                any(
                    "RESOLVED" in flat(m) and len(_said_resolved(messages, m)) >= _due(m)
                    for m in shown[self.name(g)]
                )
                for g in groups
            )

        await eventually(resolved, timeout=timeout, interval=0.2, what=f"groups {groups} resolved")

    async def problems(self, control: EmulatorControl, channel: str, resolved: range) -> list[str]:
        """What is wrong in `channel`: a group not posted exactly once, a resolve not on its own message
        or not said once in its thread (none if it was never shown firing), a message about no group
        of this run."""
        messages = await control.messages(channel)
        shown = await self.shown(control, channel)
        wrong = []
        for g in range(self.groups):
            name = self.name(g)
            if len(shown[name]) != 1:
                wrong.append(f"{name} posted {len(shown[name])} times")
                continue
            [message] = shown[name]
            others = [self.name(o) for o in range(self.groups) if o != g and self.name(o) in flat(message)]
            if others:
                wrong.append(f"{name}'s message names {others}")
            if g not in resolved:
                continue
            said = _said_resolved(messages, message)
            if "RESOLVED" not in flat(message):
                wrong.append(f"{name} resolved but its message says {message.get('text')!r}")
            if len(said) != _due(message):
                wrong.append(f"{name}'s resolve said {len(said)} times in its thread, not {_due(message)}")
        tagged = [t for t in top_level(messages) if self.tag in flat(t)]
        if len(tagged) != sum(len(v) for v in shown.values()):
            wrong.append(f"{len(tagged)} messages of this run, not one per group")
        return wrong


def _due(message: dict[str, Any]) -> int:
    """How many "Resolved" replies the group's message should have in its thread: one when it was
    ever shown firing, none when its first version was resolved already (the firing notification
    came late, after the resolved one, and was superseded: each is a snapshot of the whole group)."""
    versions = [*message.get("history", []), message]
    return 1 if any("RESOLVED" not in flat(v) for v in versions) else 0


def _said_resolved(messages: list[dict[str, Any]], message: dict[str, Any]) -> list[dict[str, Any]]:
    """The thread replies under `message` that say its group is resolved."""
    return [r for r in replies(messages, message["ts"]) if "Resolved" in str(r.get("text"))]


# -- chat commands ----------------------------------------------------------------------------------------
class Chatter:
    """A person who sends `COMMAND` to the bot, one after another (each once its answer is in), until
    stopped; `paused()` holds it between two commands (while a gateway is killed, say)."""

    def __init__(self, control: EmulatorControl, user: str, channel: str, timeout: float = 30.0) -> None:
        self.control, self.user, self.channel, self.timeout = control, user, channel, timeout
        self.sent: list[str] = []
        self.latencies: list[float] = []
        self._gate = asyncio.Lock()
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @classmethod
    async def new(cls, control: EmulatorControl, name: str) -> Chatter:
        user = await control.create_user(name, name.title())
        return cls(control, user, await control.create_channel(f"chat-{name}"))

    def start(self) -> Chatter:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while not self._stop.is_set():
            async with self._gate:
                started = loop.time()
                ts = await self.control.mention(self.user, self.channel, COMMAND)
                self.sent.append(ts)
                await self.control.wait_for_message(self.channel, thread_ts=ts, timeout=self.timeout)
                self.latencies.append(loop.time() - started)

    @contextlib.asynccontextmanager
    async def paused(self) -> Any:
        async with self._gate:
            yield

    async def stop(self) -> None:
        """Stop after the command under way is answered (its failure, a timeout, is raised here)."""
        self._stop.set()
        if self._task is not None:
            await self._task

    async def answers(self) -> dict[str, int]:
        """How many bot answers each command sent has in its thread."""
        messages = await self.control.messages(self.channel)
        bot = self.control.bot_user_id
        return {
            ts: sum(1 for m in messages if m["user"] == bot and m.get("thread_ts") == ts and m["ts"] != ts)
            for ts in self.sent
        }

    async def unthreaded(self) -> list[dict[str, Any]]:
        """Bot messages in the channel that answer no command (there should be none)."""
        return [
            m
            for m in await self.control.messages(self.channel)
            if m["user"] == self.control.bot_user_id and m.get("thread_ts") not in self.sent
        ]


@contextlib.contextmanager
def scaled(root: Path, *, ops_env: dict[str, str] | None = None) -> Iterator[Scaled]:
    """The shape started, and stopped on the way out."""
    shape = Scaled(root, ops_env=ops_env).start()
    try:
        yield shape
    finally:
        shape.stop()
