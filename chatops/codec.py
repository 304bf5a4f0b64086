"""Encode and decode bus payloads: protobuf binary, or the protobuf JSON mapping on request."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TypeVar

from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message

from chatops import logs
from chatops.subjects import H_CONTENT_TYPE, JSON_CONTENT_TYPE

M = TypeVar("M", bound=Message)
log = logs.get_logger(__name__)


class CodecError(ValueError):
    """A payload that does not decode into the expected message; the text says why."""


def wants_json(headers: Mapping[str, str] | None) -> bool:
    """True when the headers ask for the protobuf JSON mapping."""
    if not headers:
        return False
    for key, value in headers.items():
        if key.lower() == H_CONTENT_TYPE.lower():
            return value.split(";", 1)[0].strip().lower() == JSON_CONTENT_TYPE
    return False


def encode(message: Message, *, as_json: bool = False) -> bytes:
    """Serialise a message as protobuf binary, or as compact JSON with proto field names."""
    if as_json:
        return json_text(message).encode()
    return message.SerializeToString()


def json_text(message: Message) -> str:
    """The protobuf JSON mapping on one line, with the .proto's snake_case field names."""
    return json_format.MessageToJson(message, preserving_proto_field_name=True, indent=None)


def decode(data: bytes, cls: type[M], *, as_json: bool = False) -> M:
    """Parse bytes into `cls`; unknown JSON fields are refused, unknown binary fields are kept."""
    name = cls.DESCRIPTOR.full_name
    if as_json:
        return _decode_json(data, cls, name)
    message = cls()
    try:
        message.ParseFromString(data)
    except DecodeError as exc:
        raise CodecError(
            f"body is not a valid protobuf {name} ({exc}); "
            f"send binary protobuf, or JSON with header {H_CONTENT_TYPE}: {JSON_CONTENT_TYPE}"
        ) from None
    return message


def decode_record(data: bytes, cls: type[M], *, key: str, required: tuple[str, ...]) -> M | None:
    """A KV record, or None (logged) when the value is not one, e.g. an older format.

    Unknown fields, written by a newer version, are kept: a record changed and written back here
    still carries them. `required` names the fields without which the record is of no use.
    """
    try:
        message = decode(data, cls)
    except CodecError as exc:
        reason = str(exc)
    else:
        missing = [name for name in required if not getattr(message, name)]
        if not missing:
            return message
        reason = f"no {', '.join(missing)}"
    log.warning("kv.record_unreadable", record=cls.DESCRIPTOR.full_name, key=key, reason=reason)
    return None


def _decode_json(data: bytes, cls: type[M], name: str) -> M:
    if not data.strip():
        return cls()
    try:
        text = data.decode("utf-8")
        json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CodecError(f"body is not valid JSON for {name}: {exc}") from None
    message = cls()
    try:
        json_format.Parse(text, message)
    except json_format.ParseError as exc:
        raise CodecError(f"JSON does not fit {name}: {exc}") from None
    return message
