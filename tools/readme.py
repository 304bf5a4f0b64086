"""Keep README.md's chat command reference in step with the gateway's command table (`make readme`)."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

START = "<!-- commands:start -->"
END = "<!-- commands:end -->"
README = Path(__file__).resolve().parents[1] / "README.md"


class MarkersMissing(ValueError):
    """README.md lacks the markers between which the reference goes."""


def splice(readme: str, reference: str) -> str:
    """`readme` with the text between the markers replaced by `reference`."""
    head, sep, rest = readme.partition(START)
    _, sep2, tail = rest.partition(END)
    if not sep or not sep2:
        raise MarkersMissing(f"README.md needs the lines {START} and {END}")
    return f"{head}{START}\n{reference.strip()}\n{END}{tail}"


def reference() -> str:
    """What `python -m gateway.docs` prints: the generated command reference."""
    # Run as its own process, the way `make readme` documents it, so the README shows exactly that.
    done = subprocess.run(
        [sys.executable, "-m", "gateway.docs"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        cwd=README.parent,
    )
    return done.stdout


def main(argv: list[str] | None = None) -> int:
    """Rewrite README.md in place, or with --check exit 1 when it is out of date."""
    p = argparse.ArgumentParser(prog="python -m tools.readme", description=main.__doc__)
    p.add_argument("--check", action="store_true", help="only check; exit 1 when README.md is stale")
    p.add_argument("--readme", type=Path, default=README, help="the README to update (default: the repo's)")
    args = p.parse_args(argv)
    current = args.readme.read_text()
    try:
        wanted = splice(current, reference())
    except MarkersMissing as exc:
        print(exc, file=sys.stderr)
        return 2
    if current == wanted:
        return 0
    if args.check:
        print(f"{args.readme} is out of date: run `make readme`", file=sys.stderr)
        return 1
    args.readme.write_text(wanted)
    print(f"updated the command reference in {args.readme}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
