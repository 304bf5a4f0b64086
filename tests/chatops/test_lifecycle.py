"""stop_on_signals: SIGTERM and SIGINT set the event every component waits on."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest

from chatops.lifecycle import stop_on_signals


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
async def test_a_signal_sets_the_stop_event(sig: signal.Signals) -> None:
    loop = asyncio.get_running_loop()
    stop = stop_on_signals()
    try:
        assert not stop.is_set()
        os.kill(os.getpid(), sig)
        await asyncio.wait_for(stop.wait(), timeout=10)
    finally:
        for s in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(s)
