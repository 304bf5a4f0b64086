"""Replies that fit the bus: list items are dropped from the end until the encoded reply is small enough.

A reply over NATS' max_payload cannot be sent at all, and the user would only hear that ops "did not
answer". Lists in replies are ordered most-wanted first, so the tail goes, and the reply's `omitted`
field says how many items were left out, for the renderer's "… N more".
"""

from __future__ import annotations

from collections.abc import Callable

from google.protobuf.message import Message

OMITTED = "omitted"
_MIN_CUT = 0.1  # a pass whose estimate fell short cuts at least this share of what is left


class ReplyTooBig(Exception):
    """Even with every list emptied the reply does not fit; the text says by how much."""


def _lists(message: Message) -> list[str]:
    """Names of the message's repeated fields (maps are not lists to trim)."""
    return [
        f.name
        for f in message.DESCRIPTOR.fields
        if f.is_repeated and not (f.message_type is not None and f.message_type.GetOptions().map_entry)
    ]


def _item_size(item: object) -> int:
    if isinstance(item, Message):
        return item.ByteSize() + 3  # tag and length prefix
    if isinstance(item, str):
        return len(item.encode("utf-8", "replace")) + 3
    return 8


def fit(reply: Message, limit: int, encode: Callable[[Message], bytes]) -> bytes:
    """`encode(reply)`, or that of a copy with list items dropped from the end so it is at most `limit`."""
    data = encode(reply)
    if len(data) <= limit:
        return data
    trimmed = type(reply)()
    trimmed.CopyFrom(reply)
    omitted = 0
    # The biggest list first: it is the one that made the reply too big.
    fields = sorted(_lists(trimmed), key=lambda f: -sum(_item_size(x) for x in getattr(trimmed, f)))
    for field in fields:
        items = getattr(trimmed, field)
        passes = 0
        while items and len(data) > limit:
            # Estimate how many items to drop from the binary sizes, scaled to this encoding.
            ratio = len(data) / max(1, trimmed.ByteSize())
            excess = (len(data) - limit) / ratio
            drop, freed = 0, 0.0
            for item in reversed(items):
                if freed >= excess:
                    break
                freed += _item_size(item)
                drop += 1
            if passes:  # the estimate fell short once: make sure the next encode is the last few
                drop = max(drop, int(len(items) * _MIN_CUT))
            drop = max(drop, 1)
            passes += 1
            del items[len(items) - drop :]
            omitted += drop
            if OMITTED in trimmed.DESCRIPTOR.fields_by_name:
                setattr(trimmed, OMITTED, getattr(reply, OMITTED) + omitted)
            data = encode(trimmed)
        if len(data) <= limit:
            return data
    raise ReplyTooBig(f"the reply is {len(data)} bytes even without its lists; the bus takes at most {limit}")
