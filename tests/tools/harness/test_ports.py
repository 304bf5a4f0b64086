"""Port blocks: one per process, below the ephemeral range, handing out only ports a server can bind."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tools.harness.ports import BLOCK, LOOPBACK, LOWEST, NoFreePorts, PortBlock, bindable, blocks

EPHEMERAL = (32768, 60999)


def test_blocks_stay_out_of_the_ephemeral_range_and_below_well_known_ports() -> None:
    found = blocks(EPHEMERAL)
    assert found[0] == LOWEST
    for first in found:
        last = first + BLOCK - 1
        assert last < EPHEMERAL[0] or first > EPHEMERAL[1], first
        assert last <= 65535
    assert len(set(found)) == len(found)


def test_two_owners_get_different_blocks_and_a_closed_one_is_claimed_again(tmp_path: Path) -> None:
    one = PortBlock(tmp_path, EPHEMERAL)
    two = PortBlock(tmp_path, EPHEMERAL)
    try:
        assert one.first != two.first
        first = one.first
        one.close()
        three = PortBlock(tmp_path, EPHEMERAL)
        assert three.first == first
        three.close()
    finally:
        one.close()
        two.close()


def test_ports_come_in_turn_and_a_held_one_is_skipped() -> None:
    block = PortBlock()  # a real block of its own, beside this process's: nothing else uses its ports
    try:
        first = block.port()
        assert block.first <= first < block.first + BLOCK and bindable(first)
        with socket.create_server((LOOPBACK, first + 1)):
            second = block.port()
            assert second not in (first, first + 1)
            assert bindable(second)
        base = block.run(11)
        assert all(bindable(p) for p in range(base, base + 11))
        assert base + 10 < block.first + BLOCK
    finally:
        block.close()


def test_every_block_claimed_is_a_clear_error(tmp_path: Path) -> None:
    # An ephemeral range that leaves room for exactly one block (from LOWEST) and nothing above it.
    tight = (LOWEST + BLOCK, 65535)
    held = PortBlock(tmp_path, tight)
    try:
        with pytest.raises(NoFreePorts, match="every block"):
            PortBlock(tmp_path, tight)
    finally:
        held.close()
