"""User regexes: RE2 semantics (anchored, linear time), a length cap, and clear refusals."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatops.userregex import MAX_PATTERN, RegexError, compile_regex

CATASTROPHIC = "(.*.*.*.*.*)*!"


def test_the_pattern_that_pinned_ops_is_answered_on_long_labels() -> None:
    # With Python's re this fullmatch backtracks for hours (pytest's timeout would end the test).
    regex = compile_regex(CATASTROPHIC)
    assert not regex.fullmatch("a" * 4000)
    assert not regex.fullmatch("PetstoreErrorRatioHigh")
    assert regex.fullmatch("x" * 4000 + "!")


def test_patterns_are_fully_anchored_like_prometheus_matchers() -> None:
    assert compile_regex("High.*").fullmatch("HighLatency")
    assert not compile_regex("High").fullmatch("HighLatency")
    assert compile_regex("api|web").fullmatch("web")
    assert not compile_regex("api|web").fullmatch("webapi")


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("(", "missing )"),
        ("(?<=a)b", "invalid perl operator"),
        (r"(a)\1", "invalid escape sequence"),
        ("a{1001}", "invalid repetition size"),
        ("((a{100}){100}){100}", "invalid repetition size"),
        ("x" * (MAX_PATTERN + 1), f"at most {MAX_PATTERN}"),
        ("\udcff", "not valid text"),
    ],
)
def test_what_re2_cannot_do_in_linear_time_is_refused_with_a_reason(pattern: str, reason: str) -> None:
    with pytest.raises(RegexError) as err:
        compile_regex(pattern)
    assert reason in str(err.value)


def test_text_that_is_not_utf8_is_matched_not_crashed_on() -> None:
    assert compile_regex("a.b").fullmatch("a\udcffb")
    assert not compile_regex("ab").fullmatch("a\udcffb")


# Patterns both engines read the same way: literals, classes, alternation and repetition.
_ATOMS = st.sampled_from(["a", "b", "ab", ".", "[ab]", "[^a]", "(a|b)", "(ab|ba)", "x"])
_QUANT = st.sampled_from(["", "*", "+", "?", "{1,2}"])
_PATTERNS = st.lists(st.tuples(_ATOMS, _QUANT).map("".join), min_size=1, max_size=6).map("".join)


@given(_PATTERNS, st.text(alphabet="abx", max_size=12))
def test_simple_patterns_mean_what_they_mean_in_python(pattern: str, text: str) -> None:
    assert compile_regex(pattern).fullmatch(text) == (re.fullmatch(pattern, text) is not None)
