"""`eventually`: the value once a check holds, "not yet" for assertions and OS errors, and a failure
that names what did not happen; anything else ends the wait at once."""

from __future__ import annotations

import pytest

from tools.harness.wait import eventually, eventually_sync


class Countdown:
    """A check that holds on its `n`th call; before that it answers with what `early` says."""

    def __init__(self, n: int, early: str = "falsy") -> None:
        self.n, self.early, self.calls = n, early, 0

    def __call__(self) -> str:
        self.calls += 1
        if self.calls >= self.n:
            return f"held after {self.calls}"
        if self.early == "assert":
            raise AssertionError("not yet")
        if self.early == "oserror":
            raise ConnectionRefusedError("nothing listens yet")
        return ""


@pytest.mark.parametrize("early", ["falsy", "assert", "oserror"])
def test_the_value_comes_back_once_the_check_holds(early: str) -> None:
    check = Countdown(3, early)
    assert eventually_sync(check, interval=0) == "held after 3"
    assert check.calls == 3


async def test_a_coroutine_check_is_awaited() -> None:
    check = Countdown(2)

    async def checked() -> str:
        return check()

    assert await eventually(checked, interval=0) == "held after 2"


async def test_time_up_names_what_and_the_last_answer() -> None:
    with pytest.raises(AssertionError, match=r"not within 0.05s: the gate opening \(last: AssertionError"):
        await eventually(Countdown(10**9, "assert"), timeout=0.05, interval=0.01, what="the gate opening")


def test_any_other_error_ends_the_wait_at_once() -> None:
    calls = []

    def exited() -> bool:
        calls.append(1)
        raise RuntimeError("the process exited")

    with pytest.raises(RuntimeError, match="exited"):
        eventually_sync(exited, timeout=30)
    assert calls == [1]
