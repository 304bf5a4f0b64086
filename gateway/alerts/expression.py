"""An alert's expression from its generatorURL, and the threshold its rule compares with (pure).

`rate(errors[1m]) / rate(calls[1m]) > 0.05` fires when the ratio crosses 0.05; drawn as it is, the
graph would only show the points above the line. Split at that top-level comparison, the ratio is
drawn whole and 0.05 becomes a threshold line: what an on-call person wants to see.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

_NUMBER = re.compile(r"^[+-]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|0[xX][0-9a-fA-F]+)$")
_COMPARISONS = ("==", "!=", ">=", "<=", ">", "<")
_SET_OPERATORS = re.compile(r"(?<![\w:])(?:and|or|unless)(?![\w:])", re.IGNORECASE)
_MODIFIER = re.compile(r"^(?:bool|on|ignoring|group_left|group_right)(?![\w:])", re.IGNORECASE)
_CLOSE = {"(": ")", "[": "]", "{": "}"}


@dataclass(frozen=True)
class Graphable:
    """What to draw for an alert rule: the query, and the threshold line if the rule has one."""

    query: str
    threshold: float | None = None


def expression_of(generator_url: str) -> str:
    """The `g0.expr` of a Prometheus graph link (Alertmanager's generatorURL); "" when there is none."""
    try:
        query = urlsplit(generator_url).query
    except ValueError:
        return ""
    values = parse_qs(query).get("g0.expr") or [""]
    return values[0].strip()


def _top_level(expr: str) -> list[tuple[int, str]]:
    """Positions of top-level text, as (index, character), outside brackets, strings and comments."""
    out: list[tuple[int, str]] = []
    stack: list[str] = []
    quote = ""
    i = 0
    while i < len(expr):
        ch = expr[i]
        if quote:
            if ch == "\\" and quote != "`":
                i += 2
                continue
            if ch == quote:
                quote = ""
        elif ch in "\"'`":
            quote = ch
        elif ch == "#":
            end = expr.find("\n", i)
            i = len(expr) if end < 0 else end
            continue
        elif ch in _CLOSE:
            stack.append(_CLOSE[ch])
        elif stack and ch == stack[-1]:
            stack.pop()
        elif not stack:
            out.append((i, ch))
        i += 1
    return out


def _comparisons(expr: str) -> list[tuple[int, str]]:
    """(index, operator) of each top-level comparison."""
    top = dict(_top_level(expr))
    found: list[tuple[int, str]] = []
    i = 0
    while i < len(expr):
        if i in top:
            for op in _COMPARISONS:
                if all(i + k in top for k in range(len(op))) and expr.startswith(op, i):
                    # `=~` and `!~` only appear inside braces; `=` alone is not PromQL at the top.
                    found.append((i, op))
                    i += len(op) - 1
                    break
        i += 1
    return found


def _number(text: str) -> float | None:
    text = text.strip()
    while text.startswith("(") and text.endswith(")"):
        text = text[1:-1].strip()
    if not _NUMBER.match(text):
        return None
    return float(int(text, 16)) if text.lower().lstrip("+-").startswith("0x") else float(text)


def split_threshold(expr: str) -> Graphable:
    """`A > 0.05` -> draw A with a line at 0.05; anything else is drawn as it is."""
    expr = expr.strip()
    whole = Graphable(expr)
    top = dict(_top_level(expr))
    top_text = "".join(ch if i in top else " " for i, ch in enumerate(expr))
    if _SET_OPERATORS.search(top_text):
        return whole  # `a > 1 and b < 2`: which side is the threshold of what is not clear
    found = _comparisons(expr)
    if len(found) != 1:
        return whole
    at, op = found[0]
    left, right = expr[:at].strip(), expr[at + len(op) :].strip()
    if _MODIFIER.match(right):
        return whole  # `bool` keeps every point; `on(…)` compares two vectors, not a number
    value = _number(right)
    if value is not None and left and _number(left) is None:
        return Graphable(left, value)
    value = _number(left)
    if value is not None and right and _number(right) is None:
        return Graphable(right, value)
    return whole
