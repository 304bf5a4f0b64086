"""The codec: binary and JSON round trips, and clear errors for bad payloads."""

from __future__ import annotations

import contextlib

import pytest
from google.protobuf.duration_pb2 import Duration
from hypothesis import given
from hypothesis import strategies as st

from chatops.codec import CodecError, decode, encode, wants_json
from chatops.contract import COMMANDS
from chatops.v1 import alerts_pb2, sampling_pb2, traces_pb2


def sample_request() -> alerts_pb2.CreateSilenceRequest:
    return alerts_pb2.CreateSilenceRequest(
        matchers=[alerts_pb2.Matcher(name="alertname", value="PetstoreDown", is_equal=True)],
        duration=Duration(seconds=3600),
        comment="deploy in progress",
    )


@pytest.mark.parametrize("as_json", [False, True])
def test_round_trip(as_json: bool) -> None:
    msg = sample_request()
    assert decode(encode(msg, as_json=as_json), alerts_pb2.CreateSilenceRequest, as_json=as_json) == msg


def test_json_uses_proto_field_names_and_enum_names() -> None:
    msg = sampling_pb2.SetSamplingRequest(
        sampler=sampling_pb2.Sampler(type=sampling_pb2.SAMPLER_TYPE_FLOAT, rate=0.5)
    )
    text = encode(msg, as_json=True).decode()
    assert text == '{"sampler": {"type": "SAMPLER_TYPE_FLOAT", "rate": 0.5}}'


def test_json_accepts_camel_case_and_empty_body() -> None:
    got = decode(b'{"traceId": "abc"}', traces_pb2.ShowTraceRequest, as_json=True)
    assert got.trace_id == "abc"
    assert decode(b"", traces_pb2.ListTracesRequest, as_json=True) == traces_pb2.ListTracesRequest()


def test_json_unknown_field_is_a_clear_error() -> None:
    with pytest.raises(CodecError, match=r"chatops\.v1\.ShowTraceRequest.*bogus"):
        decode(b'{"bogus": 1}', traces_pb2.ShowTraceRequest, as_json=True)


def test_json_garbage_is_a_clear_error() -> None:
    with pytest.raises(CodecError, match=r"not valid JSON for chatops\.v1\.ListTracesRequest"):
        decode(b"{not json", traces_pb2.ListTracesRequest, as_json=True)
    with pytest.raises(CodecError, match="not valid JSON"):
        decode(b"\xff\xfe", traces_pb2.ListTracesRequest, as_json=True)


def test_binary_garbage_is_a_clear_error() -> None:
    with pytest.raises(CodecError, match=r"not a valid protobuf chatops\.v1\.ShowTraceRequest.*Content-Type"):
        decode(b"\xff\xff\xff\xff", traces_pb2.ShowTraceRequest)


def test_binary_unknown_fields_survive() -> None:
    # A newer sender's extra field (number 99) must not break an older reader, nor be dropped on relay.
    extra = b"\x9a\x06\x03new"
    data = encode(traces_pb2.ShowTraceRequest(trace_id="ab")) + extra
    msg = decode(data, traces_pb2.ShowTraceRequest)
    assert msg.trace_id == "ab"
    assert encode(msg).endswith(extra)


@given(st.binary(max_size=256))
def test_any_bytes_decode_or_raise_codec_error(data: bytes) -> None:
    for command in COMMANDS:
        for as_json in (False, True):
            with contextlib.suppress(CodecError):
                decode(data, command.request, as_json=as_json)


def test_wants_json_reads_content_type_case_insensitively() -> None:
    assert wants_json({"Content-Type": "application/json"})
    assert wants_json({"content-type": "Application/JSON; charset=utf-8"})
    assert not wants_json({"Content-Type": "application/protobuf"})
    assert not wants_json(None)
    assert not wants_json({})
