"""What the launcher prints: each component's lines with a coloured prefix, its own notes, the table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TextIO

from tabulate import tabulate

_COLOURS = (32, 33, 34, 35, 36, 92, 93, 94, 95, 96, 91)
_RESET = "\x1b[0m"
_BOLD = "\x1b[1m"
LAUNCHER = "up"


@dataclass(frozen=True)
class Row:
    """One line of the table of what runs where."""

    name: str
    where: str
    pid: int | None  # None: not a process (the tools' identity file)
    log: str


def colour_for(name: str, names: Sequence[str]) -> int:
    """A stable colour per component: its position in the plan picks one."""
    index = names.index(name) if name in names else len(names)
    return _COLOURS[index % len(_COLOURS)]


def prefix(name: str, width: int, colour: int | None) -> str:
    """`ops        | ` padded to the widest name, coloured when the terminal wants colour."""
    label = f"{name:<{width}} | "
    return f"\x1b[{colour}m{label}{_RESET}" if colour is not None else label


def table(rows: Sequence[Row]) -> str:
    """The table printed once everything is healthy."""
    return tabulate(
        [(r.name, r.where, "" if r.pid is None else r.pid, r.log) for r in rows],
        headers=("component", "where", "pid", "log"),
        tablefmt="simple",
    )


class Output:
    """Interleaves every component's output on one stream, each line whole and prefixed."""

    def __init__(self, stream: TextIO, names: Sequence[str], colour: bool) -> None:
        self._stream = stream
        self._names = list(names)
        self._colour = colour
        self._width = max([len(n) for n in [*self._names, LAUNCHER]])

    def _write(self, text: str) -> None:
        self._stream.write(text)
        self._stream.flush()

    def line(self, name: str, text: str) -> None:
        """One line a component printed."""
        colour = colour_for(name, self._names) if self._colour else None
        self._write(prefix(name, self._width, colour) + text.rstrip("\r\n") + "\n")

    def note(self, text: str) -> None:
        """A line from the launcher itself (starts, health, restarts, stops)."""
        label = prefix(LAUNCHER, self._width, None)
        for part in text.splitlines() or [""]:
            self._write(label + (f"{_BOLD}{part}{_RESET}" if self._colour else part) + "\n")
