"""Slack's message limits and its per-channel posting rate, as pure checks."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

MAX_TEXT = 40_000
MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3_000
MAX_BLOCK_ID = 255


class LimitError(ValueError):
    """A message Slack would refuse; `error` is the error name Slack answers with."""

    def __init__(self, error: str, detail: str) -> None:
        super().__init__(detail)
        self.error = error


def truncate_text(text: str) -> str:
    """Slack silently cuts text past 40,000 characters."""
    return text[:MAX_TEXT]


def check_blocks(blocks: Sequence[Any]) -> None:
    """Raise LimitError("invalid_blocks") for what Slack's block validation rejects."""
    if len(blocks) > MAX_BLOCKS:
        raise LimitError("invalid_blocks", f"no more than {MAX_BLOCKS} items allowed [json-pointer:/blocks]")
    for i, block in enumerate(blocks):
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            raise LimitError("invalid_blocks", f"missing required field: type [json-pointer:/blocks/{i}]")
        if len(str(block.get("block_id", ""))) > MAX_BLOCK_ID:
            raise LimitError("invalid_blocks", f"block_id too long [json-pointer:/blocks/{i}/block_id]")
        if block["type"] == "section":
            text = block.get("text")
            body = text.get("text", "") if isinstance(text, dict) else ""
            if not isinstance(body, str) or len(body) > MAX_SECTION_TEXT:
                raise LimitError(
                    "invalid_blocks",
                    f"must be less than {MAX_SECTION_TEXT + 1} characters "
                    f"[json-pointer:/blocks/{i}/text/text]",
                )
            if text is None and not block.get("fields"):
                raise LimitError("invalid_blocks", f"must provide text or fields [json-pointer:/blocks/{i}]")


@dataclass
class TokenBucket:
    """`rate` tokens a second up to `burst`; `take(now)` answers 0 or the seconds to wait."""

    rate: float
    burst: float
    tokens: float = field(init=False)
    stamp: float | None = None

    def __post_init__(self) -> None:
        self.tokens = self.burst

    def take(self, now: float) -> float:
        if self.stamp is not None:
            self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


@dataclass
class ChannelRateLimit:
    """One bucket per channel, like Slack's "about one message per second per channel"."""

    rate: float = 1.0
    burst: float = 4.0
    buckets: dict[str, TokenBucket] = field(default_factory=dict)

    def retry_after(self, channel: str, now: float) -> int:
        """0 when the post may go ahead, else whole seconds for the Retry-After header."""
        if self.rate <= 0:
            return 0
        bucket = self.buckets.setdefault(channel, TokenBucket(self.rate, self.burst))
        wait = bucket.take(now)
        return 0 if wait == 0 else max(1, math.ceil(wait))
