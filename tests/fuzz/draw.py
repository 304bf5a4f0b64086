"""Values for the fuzz tests, drawn by hypothesis's engine before a test sends them anywhere."""

from __future__ import annotations

from typing import TypeVar

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

T = TypeVar("T")


def drawn(strategy: st.SearchStrategy[T], batches: int, size: int) -> list[T]:
    """`batches` lists of `size` values from hypothesis's engine, up front, for a test to send anywhere.

    Drawing is pure, and a test that sends them names the failing value in its assertion, so the values
    are drawn here at once and the test sends them in whatever order and grouping suits the server.
    """
    values: list[T] = []

    @settings(
        max_examples=batches, deadline=None, phases=(Phase.generate,), suppress_health_check=list(HealthCheck)
    )
    @given(st.lists(strategy, min_size=size, max_size=size))
    def draw(batch: list[T]) -> None:
        values.extend(batch)

    draw()
    return values
