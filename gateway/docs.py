"""`python -m gateway.docs`: print the Markdown command reference that the README embeds."""

from __future__ import annotations

import sys

from gateway.commands.help import markdown


def main(argv: list[str] | None = None) -> int:
    """Write the reference to stdout."""
    sys.stdout.write(markdown())
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
