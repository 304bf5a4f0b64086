"""Run components as process groups: log their output, wait for health, restart on crash or hang."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from chatops.launcher.output import Output
from chatops.launcher.process import probe, signal_group, start_options
from chatops.launcher.spec import Component, Health
from chatops.lifecycle import cancelled

STOP_GRACE = 10.0  # seconds a component gets to exit on SIGTERM before its group is killed
STABLE_AFTER = 30.0  # a run this long resets the restart back-off
MAX_BACKOFF = 30.0
HEALTH_INTERVAL = 5.0  # seconds between liveness checks of a running component
UNANSWERED_LIMIT = 3  # checks in a row without any answer before a component is taken for hung
_LINE_LIMIT = 1 << 20


class StartFailed(Exception):
    """A component did not become healthy; the text is one line saying what to look at."""


def backoff(failures: int) -> float:
    """Seconds to wait before restart number `failures` (1, 2, 4, … up to 30)."""
    return float(min(MAX_BACKOFF, 2 ** max(0, failures - 1)))


@dataclass
class Child:
    """A component's running process and its restart history (mutable: the supervisor owns it)."""

    component: Component
    log_path: Path
    process: asyncio.subprocess.Process | None = None
    started_at: float = 0.0
    restarts: int = 0
    failures: int = 0
    healthy: bool = False
    pump: asyncio.Task[None] | None = None
    watcher: asyncio.Task[None] | None = None
    pgids: set[int] = field(default_factory=set)

    @property
    def pid(self) -> int:
        return self.process.pid if self.process else 0


class Supervisor:
    """Starts components one after another and keeps them running until `stop()`."""

    def __init__(
        self,
        out: Output,
        logs_dir: Path,
        *,
        cwd: Path | None = None,
        health_timeout: float = 90.0,
        health_interval: float = HEALTH_INTERVAL,
        unanswered_limit: int = UNANSWERED_LIMIT,
        on_change: Callable[[], None] = lambda: None,
    ) -> None:
        self._out = out
        self._logs_dir = logs_dir
        self._cwd = cwd
        self._health_timeout = health_timeout
        self._health_interval = health_interval
        self._unanswered_limit = unanswered_limit
        self._on_change = on_change
        self._children: dict[str, Child] = {}
        self._stopping = False

    @property
    def children(self) -> Mapping[str, Child]:
        return self._children

    async def __aenter__(self) -> Supervisor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self, component: Component) -> Child:
        """Start one component and wait until it is healthy; StartFailed says why not."""
        self._logs_dir.mkdir(parents=True, exist_ok=True)
        child = Child(component, self._logs_dir / f"{component.name}.log")
        self._children[component.name] = child
        await self._spawn(child)
        await self._wait_healthy(child)
        child.watcher = asyncio.create_task(self._watch(child), name=f"watch-{component.name}")
        return child

    async def _spawn(self, child: Child) -> None:
        comp = child.component
        try:
            process = await asyncio.create_subprocess_exec(
                *comp.argv,
                **start_options(comp, cwd=self._cwd),
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                limit=_LINE_LIMIT,
            )
        except FileNotFoundError:
            raise StartFailed(f"{comp.binary} is not installed: {comp.install_hint}") from None
        except PermissionError:
            raise StartFailed(f"{comp.binary} cannot be run (permission denied)") from None
        child.process = process
        child.pgids.add(process.pid)
        child.started_at = time.monotonic()
        child.healthy = comp.health is None
        assert process.stdout is not None
        # A local append-only file: opening it does not block the loop in any way that matters.
        log = open(child.log_path, "ab")  # noqa: SIM115, ASYNC230 - the pump closes it
        child.pump = asyncio.create_task(self._pump(comp.name, process.stdout, log), name=f"pump-{comp.name}")
        self._on_change()

    async def _pump(self, name: str, stream: asyncio.StreamReader, log: IO[bytes]) -> None:
        try:
            while True:
                try:
                    line = await stream.readuntil(b"\n")
                except asyncio.IncompleteReadError as end:
                    line = end.partial
                except asyncio.LimitOverrunError as over:
                    line = await stream.read(over.consumed)
                if not line:
                    return
                log.write(line)
                log.flush()
                self._out.line(name, line.decode("utf-8", "replace"))
        finally:
            log.close()

    async def _wait_healthy(self, child: Child) -> None:
        comp, process = child.component, child.process
        assert process is not None
        deadline = time.monotonic() + self._health_timeout
        while comp.health is not None:
            if process.returncode is not None:
                raise StartFailed(
                    f"{comp.name} exited with code {process.returncode} before it was healthy;"
                    f" see {child.log_path}"
                )
            if await self._check(comp.health):
                break
            if time.monotonic() > deadline:
                raise StartFailed(
                    f"{comp.name} was not healthy at {comp.health} within "
                    f"{self._health_timeout:g}s; see {child.log_path}"
                )
            await asyncio.sleep(0.25)
        child.healthy = True
        self._on_change()

    async def _check(self, health: Health) -> bool:
        return await self._probe(health) == 200

    async def _probe(self, health: Health) -> int | None:
        return await asyncio.to_thread(probe, health)

    async def _until_unanswered(self, child: Child) -> str:
        """Return once the health check got no answer `unanswered_limit` times in a row: why, in words.

        A check that answers, even 503 ("NATS connection lost"), shows a live process that a restart
        would not help; one that does not answer at all shows a hung one (a pinned event loop).
        """
        health = child.component.health
        assert health is not None
        misses = 0
        while misses < self._unanswered_limit:
            await asyncio.sleep(self._health_interval)
            status = await self._probe(health)
            misses = 0 if status is not None else misses + 1
            if child.healthy != (status == 200):
                child.healthy = status == 200
                self._on_change()
        return (
            f"stopped answering its health check ({health}: no answer {misses} times in a row, "
            f"{self._health_interval:g}s apart); killed it"
        )

    async def _until_gone(self, child: Child) -> str:
        """Return when the component exits by itself, or was killed for not answering: why, in words."""
        assert child.process is not None
        exiting = asyncio.ensure_future(exited(child.process))
        if child.component.health is None:
            return f"exited with code {await exiting}"
        hanging = asyncio.ensure_future(self._until_unanswered(child))
        try:
            await asyncio.wait({exiting, hanging}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            hanging.cancel()
            exiting.cancel()
        if hanging.done() and not hanging.cancelled() and not exiting.done():
            # A hung process may not even run its signal handlers: SIGKILL, not SIGTERM.
            signal_group(child.process.pid, signal.SIGKILL)
            await exited(child.process)
            return hanging.result()
        return f"exited with code {child.process.returncode}"

    async def _watch(self, child: Child) -> None:
        name = child.component.name
        while True:
            assert child.process is not None
            why = await self._until_gone(child)
            if self._stopping:
                return
            # Leftovers of the crashed run would hold its ports and its output pipe: they go first.
            signal_group(child.process.pid, signal.SIGKILL)
            await self._drain(child)
            child.healthy = False
            ran = time.monotonic() - child.started_at
            child.failures = 1 if ran > STABLE_AFTER else child.failures + 1
            delay = backoff(child.failures)
            restart = f"restart {child.restarts + 1}, log {child.log_path}"
            self._out.note(f"{name} {why}; restarting it in {delay:g}s ({restart})")
            self._on_change()
            await asyncio.sleep(delay)
            if self._stopping:
                return
            child.restarts += 1
            try:
                await self._spawn(child)
                await self._wait_healthy(child)
            except StartFailed as exc:
                # Keep trying with a longer back-off: the cause (a port, a backend) may go away.
                self._out.note(f"restart of {name} failed: {exc}")
                continue
            self._out.note(f"{name} is running again (pid {child.pid})")

    async def stop(self) -> None:
        """Stop every component, newest first: SIGTERM to its group, SIGKILL after a grace period."""
        self._stopping = True
        for child in reversed(list(self._children.values())):
            await self._stop_child(child)
        self._on_change()

    async def _stop_child(self, child: Child) -> None:
        await cancelled(child.watcher)
        process = child.process
        if process is not None and process.returncode is None:
            self._out.note(f"stopping {child.component.name} (pid {process.pid})")
            signal_group(process.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(exited(process), STOP_GRACE)
            except TimeoutError:
                self._out.note(f"{child.component.name} did not stop in {STOP_GRACE:g}s; killing it")
                signal_group(process.pid, signal.SIGKILL)
                await exited(process)
        # Anything the component started itself and left behind in its group goes too.
        for pgid in child.pgids:
            signal_group(pgid, signal.SIGKILL)
        await self._drain(child)
        child.healthy = False

    async def _drain(self, child: Child) -> None:
        """Let the pump copy the last lines; give up when something still holds the pipe open."""
        if child.pump is None or child.pump.done():
            return
        try:
            await asyncio.wait_for(asyncio.shield(child.pump), 5)
        except TimeoutError:
            await cancelled(child.pump)


async def exited(process: asyncio.subprocess.Process) -> int:
    """The exit code, as soon as the process is gone.

    `Process.wait()` also waits for its output pipe to close, which a left-behind grandchild can hold
    open for ever; the return code is known earlier.
    """
    while process.returncode is None:  # noqa: ASYNC110 - asyncio offers no earlier exit event
        await asyncio.sleep(0.1)
    return process.returncode
