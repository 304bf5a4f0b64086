import datetime

from chatops.v1 import events_pb2 as _events_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DeadLetter(_message.Message):
    __slots__ = ("stream", "stream_seq", "subject", "stored_at", "dead_at", "reason", "error", "attempts", "channel", "notification", "data", "msg_id", "sequence", "replayed_at", "replayed_by")
    STREAM_FIELD_NUMBER: _ClassVar[int]
    STREAM_SEQ_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    STORED_AT_FIELD_NUMBER: _ClassVar[int]
    DEAD_AT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    NOTIFICATION_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    MSG_ID_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_AT_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_BY_FIELD_NUMBER: _ClassVar[int]
    stream: str
    stream_seq: int
    subject: str
    stored_at: _timestamp_pb2.Timestamp
    dead_at: _timestamp_pb2.Timestamp
    reason: str
    error: str
    attempts: int
    channel: str
    notification: _events_pb2.AlertNotification
    data: bytes
    msg_id: str
    sequence: int
    replayed_at: _timestamp_pb2.Timestamp
    replayed_by: str
    def __init__(self, stream: _Optional[str] = ..., stream_seq: _Optional[int] = ..., subject: _Optional[str] = ..., stored_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., dead_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reason: _Optional[str] = ..., error: _Optional[str] = ..., attempts: _Optional[int] = ..., channel: _Optional[str] = ..., notification: _Optional[_Union[_events_pb2.AlertNotification, _Mapping]] = ..., data: _Optional[bytes] = ..., msg_id: _Optional[str] = ..., sequence: _Optional[int] = ..., replayed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., replayed_by: _Optional[str] = ...) -> None: ...

class DeadLetterReplayed(_message.Message):
    __slots__ = ("dead_letter", "time", "actor", "alert_seq")
    DEAD_LETTER_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    ALERT_SEQ_FIELD_NUMBER: _ClassVar[int]
    dead_letter: int
    time: _timestamp_pb2.Timestamp
    actor: str
    alert_seq: int
    def __init__(self, dead_letter: _Optional[int] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., actor: _Optional[str] = ..., alert_seq: _Optional[int] = ...) -> None: ...

class ListDeadLettersRequest(_message.Message):
    __slots__ = ("limit", "replayed")
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    limit: int
    replayed: bool
    def __init__(self, limit: _Optional[int] = ..., replayed: _Optional[bool] = ...) -> None: ...

class ListDeadLettersReply(_message.Message):
    __slots__ = ("dead_letters", "omitted", "waiting")
    DEAD_LETTERS_FIELD_NUMBER: _ClassVar[int]
    OMITTED_FIELD_NUMBER: _ClassVar[int]
    WAITING_FIELD_NUMBER: _ClassVar[int]
    dead_letters: _containers.RepeatedCompositeFieldContainer[DeadLetter]
    omitted: int
    waiting: int
    def __init__(self, dead_letters: _Optional[_Iterable[_Union[DeadLetter, _Mapping]]] = ..., omitted: _Optional[int] = ..., waiting: _Optional[int] = ...) -> None: ...

class ReplayDeadLettersRequest(_message.Message):
    __slots__ = ("ids", "all")
    IDS_FIELD_NUMBER: _ClassVar[int]
    ALL_FIELD_NUMBER: _ClassVar[int]
    ids: _containers.RepeatedScalarFieldContainer[int]
    all: bool
    def __init__(self, ids: _Optional[_Iterable[int]] = ..., all: _Optional[bool] = ...) -> None: ...

class ReplayDeadLettersReply(_message.Message):
    __slots__ = ("replayed", "skipped", "omitted")
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_FIELD_NUMBER: _ClassVar[int]
    OMITTED_FIELD_NUMBER: _ClassVar[int]
    replayed: _containers.RepeatedScalarFieldContainer[int]
    skipped: _containers.RepeatedScalarFieldContainer[str]
    omitted: int
    def __init__(self, replayed: _Optional[_Iterable[int]] = ..., skipped: _Optional[_Iterable[str]] = ..., omitted: _Optional[int] = ...) -> None: ...
