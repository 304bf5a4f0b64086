"""`chatops up`: check what the stack needs, start it in order, report where things run, stop on a signal."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from nats.errors import Error as NatsError
from tabulate import tabulate

from chatops import actors, nats_server
from chatops.bus import connect, jetstream
from chatops.launcher import plan
from chatops.launcher.output import Output, Row, table
from chatops.launcher.spec import EmulatedSlack, StackOptions
from chatops.launcher.supervisor import StartFailed, Supervisor
from chatops.lifecycle import stop_on_signals
from chatops.placement import Placement, placements
from chatops.settings import BusSettings
from chatops.stackstate import StackBus, state_path
from chatops.streams import ProvisionError, provision_when_ready


class Preflight(Exception):
    """Something to fix before the stack can start; the text is one line saying what to do."""


def find_binaries(*, need_nats: bool = True) -> dict[str, str]:
    """The pinned nats-server (never an older one on PATH) and the Prometheus/Alertmanager executables."""
    # Debian names Alertmanager `prometheus-alertmanager`; upstream tarballs call it `alertmanager`.
    found = {"prometheus": "prometheus", "alertmanager": "prometheus-alertmanager"}
    if not shutil.which(found["alertmanager"]) and shutil.which("alertmanager"):
        found["alertmanager"] = "alertmanager"
    if need_nats:
        try:
            found["nats-server"] = nats_server.find()
        except nats_server.NatsServerMissing as exc:
            raise Preflight(str(exc)) from None
    return found


def preflight(opts: StackOptions, busy: Callable[[dict[str, int]], tuple[str, int] | None]) -> None:
    """Missing binaries and taken ports, before anything starts; Preflight names the first problem."""
    for comp in plan.plan(opts):
        if shutil.which(comp.binary) is None:
            raise Preflight(f"{comp.binary} is not installed: {comp.install_hint}")
    taken = busy(plan.listening_ports(opts))
    if taken is not None:
        name, port = taken
        state = state_path(opts.data_dir)
        # A launcher killed with SIGKILL cannot stop its children; its state file still names them.
        earlier = (
            f"; an earlier `chatops up` may still run: its pids are in {state}" if state.exists() else ""
        )
        raise Preflight(
            f"port {port} (for {name}) is already in use: stop whatever listens there "
            f"(`ss -ltnp 'sport = :{port}'` shows it) or move the stack with --base-port N{earlier}"
        )
    if opts.nats_url and not _reachable(opts.nats_url):
        raise Preflight(
            f"NATS_URL={opts.shown_bus_url} does not answer: start that NATS, or unset NATS_URL "
            "and `chatops up` starts its own"
        )


def _reachable(nats_url: str) -> bool:
    for part in nats_url.split(","):
        url = urlsplit(part.strip())
        try:
            with socket.create_connection((url.hostname or "127.0.0.1", url.port or 4222), 2):
                return True
        except OSError:
            continue
    return False


@dataclass(frozen=True)
class EmulatorWorkspace:
    """What ops and the gateway need from the offline Slack: #oncall's id and who the people are."""

    oncall_channel: str = "#oncall"  # chat.postMessage takes a channel name too
    humans: tuple[tuple[str, str], ...] = ()  # (id, name) of every user that is not a bot

    @property
    def admins(self) -> tuple[str, ...]:
        return tuple(uid for uid, _ in self.humans)


def workspace_of(state: Any) -> EmulatorWorkspace:
    """Read the emulator's `GET /control/state` document; anything missing keeps the defaults."""
    if not isinstance(state, dict):
        return EmulatorWorkspace()
    channels = [c for c in state.get("channels") or [] if isinstance(c, dict)]
    users = [u for u in state.get("users") or [] if isinstance(u, dict)]
    oncall = next((str(c["id"]) for c in channels if c.get("name") == "oncall" and c.get("id")), "#oncall")
    humans = tuple(
        (str(u["id"]), str(u.get("name", ""))) for u in users if u.get("id") and not u.get("is_bot")
    )
    return EmulatorWorkspace(oncall, humans)


async def read_workspace(emulator_url: str) -> EmulatorWorkspace:
    """Ask the running emulator for its workspace; the defaults when it does not answer sensibly."""
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http,
            http.get(f"{emulator_url}/control/state") as resp,
        ):
            return workspace_of(await resp.json())
    except (aiohttp.ClientError, TimeoutError, ValueError):
        return EmulatorWorkspace()


class StateFile:
    """`<data dir>/state.json`: what runs, its pid and health, so scripts and tests can see the stack."""

    def __init__(self, path: Path, opts: StackOptions) -> None:
        self.path = path
        self.opts = opts
        self.healthy = False
        self.streams: list[Placement] = []  # in a cluster: each stream's leader when it came up

    def write(self, sup: Supervisor) -> None:
        access = self.opts.access
        doc: dict[str, Any] = {
            "launcher_pid": os.getpid(),
            "healthy": self.healthy,
            # Where the bus is, for the console and tools beside the stack (chatops.stackstate).
            **StackBus(
                self.opts.shown_bus_url, tls=access is not None and access.use_tls, admins=self.opts.admins
            ).to_state(),
            "tools_seed": str(access.seed("tools")) if access else "",
            "slack_page": slack_page(self.opts),
            "cluster": self.opts.cluster,
            "streams": {
                p.stream: {"leader": p.leader, "followers": [r.server for r in p.followers]}
                for p in self.streams
            },
            "components": {
                name: {
                    "pid": c.pid,
                    "pgids": sorted(c.pgids),
                    "healthy": c.healthy,
                    "restarts": c.restarts,
                    "where": c.component.where,
                    "log": str(c.log_path),
                }
                for name, c in sup.children.items()
            },
        }
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(doc, indent=2))
        tmp.replace(self.path)


def slack_page(opts: StackOptions) -> str:
    return opts.ports.url("slackemu", "/") if opts.slack is not None else ""


async def with_emulator(
    opts: StackOptions, slack: EmulatedSlack, note: Callable[[str], None] = lambda line: None
) -> StackOptions:
    """`opts` once the offline Slack runs, for the parts started after it: its #oncall, and as admins
    every human in it, for the gateway and ops alike, and whoever started the demo, at this shell
    (`chatops ask`): it is a demo. `note` hears who they are."""
    ws = await read_workspace(opts.ports.url("slackemu"))
    people = ", ".join(f"{name} ({uid})" for uid, name in ws.humans) or "nobody (the emulator did not say)"
    you = actors.console(actors.shell_user())
    note(f"admins in the offline Slack: {people}; at this shell: {you} (chatops ask)")
    admins = (*(actors.slack(uid) for uid in ws.admins), you)
    return replace(opts, slack=replace(slack, oncall_channel=ws.oncall_channel), admins=admins)


async def _start_all(sup: Supervisor, opts: StackOptions, out: Output) -> StackOptions:
    if opts.slack is None and not opts.admins:
        out.note("CHATOPS_ADMINS is empty: nobody may change sampling or silence alerts until you set it")
    if opts.configs.slack_webhook is None:
        out.note(
            "SLACK_ONCALL_WEBHOOK_URL is not set: alerts about chatops itself (gateway down, delivery "
            "stalled, …) reach nobody; see the README, Watching the watcher"
        )
    names = [c.name for c in plan.plan(opts)]
    last_node = [n for n in names if n == "nats" or n.startswith("nats-")][-1:]
    for name in names:
        # Built again from the current options: what the emulator told us reaches those started after it.
        comp = next(c for c in plan.plan(opts) if c.name == name)
        out.note(f"starting {comp.name}: {' '.join(comp.argv[:4])}{' …' if len(comp.argv) > 4 else ''}")
        await sup.start(comp)
        out.note(f"{comp.name} is healthy" if comp.health else f"{comp.name} is running")
        if [name] == last_node and opts.access is not None:
            # Every node is up: in a cluster the streams need all three to place their replicas.
            for change in await provision_bus(opts):
                out.note(f"provisioned: {change}")
        if name == "slackemu" and opts.slack is not None:
            opts = await with_emulator(opts, opts.slack, out.note)
    return opts


async def provision_bus(opts: StackOptions, *, timeout: float = 60.0) -> list[str]:
    """Create the streams and buckets as the provisioner, before any component needs them."""
    assert opts.access is not None
    settings = BusSettings(NATS_URL=opts.bus_url, **opts.access.env("provisioner"))  # type: ignore[arg-type]
    try:
        return await provision_when_ready(settings, opts.limits, timeout=timeout)
    except ProvisionError as exc:
        raise StartFailed(str(exc)) from None


async def stream_placements(opts: StackOptions) -> list[Placement]:
    """Each stream's leader and followers as the provisioner sees them; empty when the bus cannot say."""
    assert opts.access is not None
    settings = BusSettings(NATS_URL=opts.bus_url, **opts.access.env("provisioner"))  # type: ignore[arg-type]
    try:
        nc = await asyncio.wait_for(connect(settings, "provisioner"), 10)
    except (NatsError, OSError, TimeoutError):
        return []
    try:
        return await placements(jetstream(nc, settings))
    except (NatsError, OSError, TimeoutError):
        return []
    finally:
        await nc.close()


def placement_table(found: list[Placement]) -> str:
    """Which node leads each stream, and its followers."""
    return tabulate(
        [(p.stream, p.replicas, p.leader or "(electing)", ", ".join(map(str, p.followers))) for p in found],
        headers=("stream", "replicas", "leader", "followers"),
        tablefmt="simple",
    )


async def run(opts: StackOptions, out: Output, *, health_timeout: float, cwd: Path | None = None) -> int:
    """Start everything, wait for SIGINT/SIGTERM, stop everything; 1 when the stack could not start."""
    stop = stop_on_signals()
    state = StateFile(state_path(opts.data_dir), opts)
    code = 0
    try:
        async with Supervisor(
            out,
            opts.data_dir / "logs",
            cwd=cwd,
            health_timeout=health_timeout,
            on_change=lambda: state.write(sup),
        ) as sup:
            starting = asyncio.create_task(_start_all(sup, opts, out))
            stopping = asyncio.create_task(stop.wait())
            await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if not starting.done():
                starting.cancel()
                out.note("interrupted while starting; stopping what runs")
                await asyncio.gather(starting, return_exceptions=True)
                return 130
            stopping.cancel()
            try:
                opts = starting.result()
            except StartFailed as exc:
                out.note(f"chatops up: {exc}")
                return 1
            state.opts = opts
            state.healthy = True
            state.write(sup)
            rows = [Row(n, c.component.where, c.pid, str(c.log_path)) for n, c in sup.children.items()]
            extra = []
            if opts.access is not None:
                # What a tool in any language connects with (see the README, Security).
                extra.append(Row("tools (read-only)", str(opts.access.seed("tools")), None, ""))
            out.note(table(rows + extra))
            if opts.cluster > 1 and opts.access is not None:
                where = await stream_placements(opts)
                state.streams = where
                if where:
                    out.note(placement_table(where))
            page = slack_page(opts)
            chat = (
                f"chat with the bot at {page} (#oncall shows alerts)"
                if page
                else "the bot answers in your Slack workspace"
            )
            out.note(f"all {len(rows)} components are healthy; {chat}. Ctrl-C stops everything.")
            await stop.wait()
            out.note("stopping every component")
    finally:
        # run() may be awaited again in the same loop (tests do): leave no handler behind.
        for sig in (signal.SIGINT, signal.SIGTERM):
            asyncio.get_running_loop().remove_signal_handler(sig)
    out.note("stopped; nothing left running")
    return code
