"""Free loopback ports for tests and benchmarks, safe with several test workers and runs on one machine.

A port found free by binding port 0 comes from the kernel's ephemeral range, which every outgoing
connection draws from too: between the check and the server's bind, someone's client may take it.
Ports below that range are only ever taken on purpose. Each process claims a block of them with a
lock file (the kernel drops the lock when the process dies, however it dies) and hands its ports out
in turn, skipping any that something still holds.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import os
import socket
import tempfile
from pathlib import Path

LOOPBACK = "127.0.0.1"
BLOCK = 256  # ports per process: a test module's servers take a dozen at the most
LOWEST = 10000  # below this, well-known ports of things a developer may run (databases, demo stacks)
_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")


class NoFreePorts(RuntimeError):
    """Every block is claimed by another process, or every port of ours is held."""


def ephemeral_range(path: Path = _RANGE_FILE) -> tuple[int, int]:
    """The kernel's ephemeral port range (Linux's default when it cannot be read)."""
    try:
        low, high = (int(n) for n in path.read_text().split())
    except (OSError, ValueError):
        return 32768, 60999
    return low, high


def blocks(ephemeral: tuple[int, int], size: int = BLOCK) -> list[int]:
    """First ports of every whole block outside the ephemeral range, from LOWEST up."""
    low, high = ephemeral
    spans = [(LOWEST, low - 1), (high + 1, 65535)]
    return [first for start, end in spans for first in range(start, end - size + 2, size)]


def bindable(port: int) -> bool:
    """True when a server could bind LOOPBACK:port right now (no SO_REUSEADDR: TIME_WAIT counts)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((LOOPBACK, port))
        except OSError:
            return False
    return True


class PortBlock:
    """A block of ports this process owns while it lives; `port()` and `run(n)` hand them out in turn."""

    def __init__(self, lock_dir: Path | None = None, ephemeral: tuple[int, int] | None = None) -> None:
        self._lock_dir = lock_dir or Path(tempfile.gettempdir()) / "chatops-test-ports"
        self._ephemeral = ephemeral or ephemeral_range()
        self._lock_fd = -1
        self.first = self._claim()
        self._next = 0

    def _claim(self) -> int:
        self._lock_dir.mkdir(parents=True, exist_ok=True)
        for first in blocks(self._ephemeral):
            fd = os.open(self._lock_dir / f"block-{first}.lock", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            self._lock_fd = fd
            return first
        raise NoFreePorts(f"every block of {BLOCK} ports is claimed (locks in {self._lock_dir})")

    def close(self) -> None:
        """Give the block back (a process that just exits needs not: the kernel does it)."""
        if self._lock_fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self._lock_fd)
            self._lock_fd = -1

    def run(self, count: int) -> int:
        """The first of `count` consecutive ports that are all free now; the next call starts after them."""
        if not 1 <= count <= BLOCK:
            raise ValueError(f"a run of {count} ports does not fit a block of {BLOCK}")
        for _ in range(BLOCK):
            if self._next + count > BLOCK:
                self._next = 0
            start = self.first + self._next
            self._next += count
            if all(bindable(p) for p in range(start, start + count)):
                return start
        raise NoFreePorts(f"no {count} consecutive free ports in {self.first}..{self.first + BLOCK - 1}")

    def port(self) -> int:
        """One port that is free now and will not be handed out again for a while."""
        return self.run(1)


@functools.cache
def _block(pid: int) -> PortBlock:
    """This process's block; keyed by pid, so a forked child claims one of its own."""
    return PortBlock()


def free_port() -> int:
    """A loopback TCP port nothing listens on, outside the ephemeral range, owned by this process."""
    return _block(os.getpid()).port()


def free_ports(count: int) -> int:
    """The first of `count` consecutive free ports (a `chatops up --base-port` block)."""
    return _block(os.getpid()).run(count)
