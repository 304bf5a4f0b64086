import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AlertMessageRecord(_message.Message):
    __slots__ = ("channel", "ts", "group_key", "applied_seq", "replied_seq", "resolved", "labels", "silence", "applied_id", "applied_at", "replied_id", "replied_at", "claim", "episode_id", "fired_at", "opened_at", "card_digest", "reannounced", "reannounced_at", "notes")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    TS_FIELD_NUMBER: _ClassVar[int]
    GROUP_KEY_FIELD_NUMBER: _ClassVar[int]
    APPLIED_SEQ_FIELD_NUMBER: _ClassVar[int]
    REPLIED_SEQ_FIELD_NUMBER: _ClassVar[int]
    RESOLVED_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    SILENCE_FIELD_NUMBER: _ClassVar[int]
    APPLIED_ID_FIELD_NUMBER: _ClassVar[int]
    APPLIED_AT_FIELD_NUMBER: _ClassVar[int]
    REPLIED_ID_FIELD_NUMBER: _ClassVar[int]
    REPLIED_AT_FIELD_NUMBER: _ClassVar[int]
    CLAIM_FIELD_NUMBER: _ClassVar[int]
    EPISODE_ID_FIELD_NUMBER: _ClassVar[int]
    FIRED_AT_FIELD_NUMBER: _ClassVar[int]
    OPENED_AT_FIELD_NUMBER: _ClassVar[int]
    CARD_DIGEST_FIELD_NUMBER: _ClassVar[int]
    REANNOUNCED_FIELD_NUMBER: _ClassVar[int]
    REANNOUNCED_AT_FIELD_NUMBER: _ClassVar[int]
    NOTES_FIELD_NUMBER: _ClassVar[int]
    channel: str
    ts: str
    group_key: str
    applied_seq: int
    replied_seq: int
    resolved: bool
    labels: _containers.ScalarMap[str, str]
    silence: ChatSilence
    applied_id: str
    applied_at: _timestamp_pb2.Timestamp
    replied_id: str
    replied_at: _timestamp_pb2.Timestamp
    claim: ChatClaim
    episode_id: str
    fired_at: _timestamp_pb2.Timestamp
    opened_at: _timestamp_pb2.Timestamp
    card_digest: str
    reannounced: int
    reannounced_at: _timestamp_pb2.Timestamp
    notes: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, channel: _Optional[str] = ..., ts: _Optional[str] = ..., group_key: _Optional[str] = ..., applied_seq: _Optional[int] = ..., replied_seq: _Optional[int] = ..., resolved: _Optional[bool] = ..., labels: _Optional[_Mapping[str, str]] = ..., silence: _Optional[_Union[ChatSilence, _Mapping]] = ..., applied_id: _Optional[str] = ..., applied_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., replied_id: _Optional[str] = ..., replied_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., claim: _Optional[_Union[ChatClaim, _Mapping]] = ..., episode_id: _Optional[str] = ..., fired_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., opened_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., card_digest: _Optional[str] = ..., reannounced: _Optional[int] = ..., reannounced_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., notes: _Optional[_Iterable[str]] = ...) -> None: ...

class ChatClaim(_message.Message):
    __slots__ = ("owner", "since", "notification_id", "notification_at", "action", "channel", "thread_ts", "seq", "resolved")
    OWNER_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    NOTIFICATION_ID_FIELD_NUMBER: _ClassVar[int]
    NOTIFICATION_AT_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    THREAD_TS_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    RESOLVED_FIELD_NUMBER: _ClassVar[int]
    owner: str
    since: _timestamp_pb2.Timestamp
    notification_id: str
    notification_at: _timestamp_pb2.Timestamp
    action: str
    channel: str
    thread_ts: str
    seq: int
    resolved: bool
    def __init__(self, owner: _Optional[str] = ..., since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., notification_id: _Optional[str] = ..., notification_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., action: _Optional[str] = ..., channel: _Optional[str] = ..., thread_ts: _Optional[str] = ..., seq: _Optional[int] = ..., resolved: _Optional[bool] = ...) -> None: ...

class ChatSilence(_message.Message):
    __slots__ = ("user_id", "until", "silence_id", "url")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    UNTIL_FIELD_NUMBER: _ClassVar[int]
    SILENCE_ID_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    until: _timestamp_pb2.Timestamp
    silence_id: str
    url: str
    def __init__(self, user_id: _Optional[str] = ..., until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., silence_id: _Optional[str] = ..., url: _Optional[str] = ...) -> None: ...

class PendingConfirmation(_message.Message):
    __slots__ = ("id", "command", "request", "text", "actor", "actor_name", "channel", "thread_ts", "expires_at", "message_ts")
    ID_FIELD_NUMBER: _ClassVar[int]
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    ACTOR_NAME_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    THREAD_TS_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_TS_FIELD_NUMBER: _ClassVar[int]
    id: str
    command: str
    request: bytes
    text: str
    actor: str
    actor_name: str
    channel: str
    thread_ts: str
    expires_at: _timestamp_pb2.Timestamp
    message_ts: str
    def __init__(self, id: _Optional[str] = ..., command: _Optional[str] = ..., request: _Optional[bytes] = ..., text: _Optional[str] = ..., actor: _Optional[str] = ..., actor_name: _Optional[str] = ..., channel: _Optional[str] = ..., thread_ts: _Optional[str] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., message_ts: _Optional[str] = ...) -> None: ...

class LeaseRecord(_message.Message):
    __slots__ = ("owner", "until")
    OWNER_FIELD_NUMBER: _ClassVar[int]
    UNTIL_FIELD_NUMBER: _ClassVar[int]
    owner: str
    until: _timestamp_pb2.Timestamp
    def __init__(self, owner: _Optional[str] = ..., until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class JournalEntry(_message.Message):
    __slots__ = ("dedupe_key", "channel", "ts", "thread_ts", "user", "text", "direct", "origin", "accepted_at", "holder", "held_at", "done", "takeovers", "claim", "audited")
    DEDUPE_KEY_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    TS_FIELD_NUMBER: _ClassVar[int]
    THREAD_TS_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    DIRECT_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_AT_FIELD_NUMBER: _ClassVar[int]
    HOLDER_FIELD_NUMBER: _ClassVar[int]
    HELD_AT_FIELD_NUMBER: _ClassVar[int]
    DONE_FIELD_NUMBER: _ClassVar[int]
    TAKEOVERS_FIELD_NUMBER: _ClassVar[int]
    CLAIM_FIELD_NUMBER: _ClassVar[int]
    AUDITED_FIELD_NUMBER: _ClassVar[int]
    dedupe_key: str
    channel: str
    ts: str
    thread_ts: str
    user: str
    text: str
    direct: bool
    origin: _containers.RepeatedScalarFieldContainer[str]
    accepted_at: _timestamp_pb2.Timestamp
    holder: str
    held_at: _timestamp_pb2.Timestamp
    done: bool
    takeovers: int
    claim: str
    audited: bool
    def __init__(self, dedupe_key: _Optional[str] = ..., channel: _Optional[str] = ..., ts: _Optional[str] = ..., thread_ts: _Optional[str] = ..., user: _Optional[str] = ..., text: _Optional[str] = ..., direct: _Optional[bool] = ..., origin: _Optional[_Iterable[str]] = ..., accepted_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., holder: _Optional[str] = ..., held_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., done: _Optional[bool] = ..., takeovers: _Optional[int] = ..., claim: _Optional[str] = ..., audited: _Optional[bool] = ...) -> None: ...
