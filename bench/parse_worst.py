"""How long the gateway's parser and renderers take on hostile 4,000-character messages, and on a
quarter of that: if a time grows much faster than the length, something in the path is quadratic.

Each shape is parsed (lexer, Slack markup, options, values, RE2 regexes) and the usage or help it
produces is rendered to Slack blocks and console text, as the gateway does on its event loop.

    .venv/bin/python bench/parse_worst.py [--repeat 20]
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from bench import arguments

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gateway.commands import HelpRequest, Request, UsageError, parse  # noqa: E402
from gateway.render.notes import help_doc, usage_doc  # noqa: E402
from gateway.render.slack import to_slack  # noqa: E402
from gateway.render.text import to_text  # noqa: E402

HOSTILE = "(.*.*.*.*.*)*!"


def shapes(n: int) -> dict[str, str]:
    """Messages of at most `n` characters built to hurt a backtracking or quadratic parser."""
    raw = {
        "unclosed links": "alerts " + "<a|" * (n // 3),
        "nested brackets": "alerts labels=[" + "[" * (n - 20),
        "one long word": "list traces " + "a" * (n - 12),
        "many options": "list traces " + "a=b " * (n // 4 - 3),
        "no equals": "history " + "ab" * (n // 2 - 4),
        "mentions": "<@U0EMUB0T1> " * (n // 13),
        "entities": "help " + "&lt;&amp;" * (n // 9),
        "pipes": "<http://x" + "|" * (n - 10) + ">",
        "regex labels": "alerts labels=[" + ",".join([f"a=~{HOSTILE}"] * (n // 19)) + "]",
        "durations": "alerts since=" + "1h" * (n // 2 - 7),
        "quotes": 'list traces operation="' + '\\"' * (n // 2 - 12),
        "trace links": "show trace " + "<https://x/trace/" + "a" * (n - 30) + "|x>",
        "silence words": "silence a=b for=1h " + "word " * (n // 5 - 4),
        "unknown": "lsit " + "x " * (n // 2 - 3),
    }
    return {name: text[:n] for name, text in raw.items()}


def once(text: str) -> None:
    parsed = parse(text)
    if isinstance(parsed, UsageError):
        doc = usage_doc(parsed)
    elif isinstance(parsed, HelpRequest):
        doc = help_doc(parsed)
    else:
        assert isinstance(parsed, Request)
        return
    to_slack(doc)
    to_text(doc)


def best(fn: Callable[[], None], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    p = arguments(__doc__)
    p.add_argument("--repeat", type=int, default=20)
    args = p.parse_args()
    small, big = shapes(1000), shapes(4000)
    print(f"{'shape':18} {'1,000 chars':>12} {'4,000 chars':>12} {'ratio':>6}")
    for name in big:
        a = best(lambda t=small[name]: once(t), args.repeat)  # type: ignore[misc]
        b = best(lambda t=big[name]: once(t), args.repeat)  # type: ignore[misc]
        print(f"{name:18} {a * 1e3:10.3f}ms {b * 1e3:10.3f}ms {b / a:6.1f}")
    print("4x the length should cost about 4x the time; ~16x would be quadratic.")


if __name__ == "__main__":
    main()
