"""Hypothesis strategies for broken Alertmanager webhooks: each one must be refused with a 4xx.

Every body starts from a real notification (the recorded fixture) and is broken one way: cut short,
a field of the wrong type or missing, labels or annotations far too big, too many alerts, bytes that
are not UTF-8, or not JSON at all. None of them may be stored.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

FIXTURE = Path(__file__).parent.parent / "fixtures" / "alertmanager" / "webhook-03-firing-Multi.json"
BASE: dict[str, Any] = json.loads(FIXTURE.read_text())

Body = tuple[str, bytes]  # (what kind of breakage, the body)

_WRONG: dict[tuple[Any, ...], list[Any]] = {
    ("version",): [4, "3", None, [], {}],
    ("groupKey",): [1, None, [], ""],
    ("status",): ["bogus", 1, None, True],
    ("receiver",): [1, None, [], {}],
    ("groupLabels",): ["x", [], 1, {"k": 1}, {"k": None}, {"k": ["a"]}],
    ("commonLabels",): ["x", [], {"k": 1.5}],
    ("commonAnnotations",): ["x", {"k": False}],
    ("externalURL",): [1, [], {}, None],
    ("truncatedAlerts",): [-1, "5", 1.5, None, True, 2**40],
    ("alerts",): [[], {}, "x", None, [1], [None]],
    ("alerts", 0, "status"): ["bogus", None, 1],
    ("alerts", 0, "labels"): ["x", None, [], {"a": 1}],
    ("alerts", 0, "annotations"): ["x", [], {"a": 2}],
    ("alerts", 0, "startsAt"): [12345, "yesterday", None, "2024-13-45T00:00:00Z", 1.5],
    ("alerts", 0, "endsAt"): [12345, "soon", []],
    ("alerts", 0, "generatorURL"): [1, None, []],
    ("alerts", 0, "fingerprint"): [1, None, {}],
}
_REQUIRED: list[tuple[Any, ...]] = [
    ("version",),
    ("groupKey",),
    ("status",),
    ("receiver",),
    ("alerts",),
    ("alerts", 0, "status"),
    ("alerts", 0, "labels"),
    ("alerts", 0, "startsAt"),
]
_BAD_BYTES = [b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\x80", b"\xe2\x82"]


def encode(doc: Any) -> bytes:
    return json.dumps(doc).encode()


def _set(doc: dict[str, Any], path: tuple[Any, ...], value: Any, *, remove: bool = False) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    node: Any = out
    for key in path[:-1]:
        node = node[key]
    if remove:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return out


# Strategies draw small recipes (kind and parameters); `build` turns one into its body. So a failing
# example prints as a line, not as megabytes of JSON.
Recipe = tuple[Any, ...]

truncated = st.tuples(st.just("truncated"), st.floats(min_value=0.0, max_value=0.999))
wrong_type = st.sampled_from(sorted(_WRONG, key=str)).flatmap(
    lambda path: st.tuples(st.just("wrong type"), st.just(path), st.integers(0, len(_WRONG[path]) - 1))
)
missing = st.tuples(st.just("missing"), st.sampled_from(_REQUIRED))
huge = st.tuples(
    st.just("huge"),
    st.sampled_from(["label value", "label name", "annotation", "many labels", "group key"]),
    st.sampled_from([4097, 20_000, 300_000, 2_000_000]),
)
many_alerts = st.tuples(st.just("alerts"), st.sampled_from([501, 2000, 10_000]))
bad_utf8 = st.tuples(
    st.just("bad utf-8"), st.integers(1, 10), st.sampled_from([*_BAD_BYTES, b"\\ud800", b"\\udfff"])
)
not_json = st.one_of(
    st.tuples(
        st.just("not json"),
        st.sampled_from([b"hello", b"", b"null", b"[]", b"42", b'"string"', b"{", b'{"version": NaN}']),
    ),
    st.tuples(st.just("deep nesting"), st.sampled_from([b"[", b'{"a":']), st.sampled_from([1000, 100_000])),
    st.tuples(st.just("random bytes"), st.binary(min_size=1, max_size=200)),
)

malformed = st.one_of(truncated, wrong_type, missing, huge, many_alerts, bad_utf8, not_json)


def build(recipe: Recipe) -> Body:
    """The (kind, body) a recipe describes."""
    kind = recipe[0]
    if kind == "truncated":
        whole = encode(BASE)
        return kind, whole[: int(len(whole) * recipe[1])]
    if kind == "wrong type":
        path = recipe[1]
        return kind, encode(_set(BASE, path, _WRONG[path][recipe[2]]))
    if kind == "missing":
        return kind, encode(_set(BASE, recipe[1], None, remove=True))
    if kind == "huge":
        return f"huge {recipe[1]}", _huge(recipe[1], recipe[2])
    if kind == "alerts":
        first = BASE["alerts"][0]
        alerts = [dict(first, labels={**first["labels"], "n": str(i)}) for i in range(recipe[1])]
        return f"{recipe[1]} alerts", encode({**BASE, "alerts": alerts})
    if kind == "bad utf-8":
        body = encode(BASE)
        at = body.index(b'"alertname"') + recipe[1]
        return kind, body[:at] + recipe[2] + body[at:]
    if kind == "deep nesting":
        return kind, recipe[1] * recipe[2]
    return kind, recipe[1]


def _huge(where: str, size: int) -> bytes:
    """One label, annotation or key far over the limits (some bodies over the 1 MiB body limit too)."""
    doc = copy.deepcopy(BASE)
    alert = doc["alerts"][0]
    if where == "label value":
        alert["labels"]["big"] = "v" * size
    elif where == "label name":
        alert["labels"]["n" * min(size, 5000)] = "x"
    elif where == "annotation":
        alert["annotations"]["description"] = "d" * (size + 16384)
    elif where == "many labels":
        alert["labels"].update({f"l{i}": "x" for i in range(65 + size % 200)})
    else:
        doc["groupKey"] = "k" * size
    return encode(doc)
