import datetime

from chatops.v1 import alerts_pb2 as _alerts_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SilenceChange(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SILENCE_CHANGE_UNSPECIFIED: _ClassVar[SilenceChange]
    SILENCE_CHANGE_CREATED: _ClassVar[SilenceChange]
    SILENCE_CHANGE_CHANGED: _ClassVar[SilenceChange]
    SILENCE_CHANGE_MUTED: _ClassVar[SilenceChange]
    SILENCE_CHANGE_RESOLVED: _ClassVar[SilenceChange]
    SILENCE_CHANGE_ENDED: _ClassVar[SilenceChange]

class AckOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACK_OUTCOME_UNSPECIFIED: _ClassVar[AckOutcome]
    ACK_OUTCOME_ACKED: _ClassVar[AckOutcome]
    ACK_OUTCOME_ALREADY_ACKED: _ClassVar[AckOutcome]
    ACK_OUTCOME_UNACKED: _ClassVar[AckOutcome]
    ACK_OUTCOME_NOT_ACKED: _ClassVar[AckOutcome]
    ACK_OUTCOME_RESOLVED: _ClassVar[AckOutcome]

class TimelineKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TIMELINE_KIND_UNSPECIFIED: _ClassVar[TimelineKind]
    TIMELINE_KIND_ALERT: _ClassVar[TimelineKind]
    TIMELINE_KIND_ACK: _ClassVar[TimelineKind]
    TIMELINE_KIND_SILENCE: _ClassVar[TimelineKind]
    TIMELINE_KIND_COMMAND: _ClassVar[TimelineKind]
    TIMELINE_KIND_DEPLOY: _ClassVar[TimelineKind]
SILENCE_CHANGE_UNSPECIFIED: SilenceChange
SILENCE_CHANGE_CREATED: SilenceChange
SILENCE_CHANGE_CHANGED: SilenceChange
SILENCE_CHANGE_MUTED: SilenceChange
SILENCE_CHANGE_RESOLVED: SilenceChange
SILENCE_CHANGE_ENDED: SilenceChange
ACK_OUTCOME_UNSPECIFIED: AckOutcome
ACK_OUTCOME_ACKED: AckOutcome
ACK_OUTCOME_ALREADY_ACKED: AckOutcome
ACK_OUTCOME_UNACKED: AckOutcome
ACK_OUTCOME_NOT_ACKED: AckOutcome
ACK_OUTCOME_RESOLVED: AckOutcome
TIMELINE_KIND_UNSPECIFIED: TimelineKind
TIMELINE_KIND_ALERT: TimelineKind
TIMELINE_KIND_ACK: TimelineKind
TIMELINE_KIND_SILENCE: TimelineKind
TIMELINE_KIND_COMMAND: TimelineKind
TIMELINE_KIND_DEPLOY: TimelineKind

class AckEvent(_message.Message):
    __slots__ = ("ref", "group_key", "episode", "acked", "actor", "actor_name", "time", "request_id", "alertnames", "sequence", "renewed_at")
    REF_FIELD_NUMBER: _ClassVar[int]
    GROUP_KEY_FIELD_NUMBER: _ClassVar[int]
    EPISODE_FIELD_NUMBER: _ClassVar[int]
    ACKED_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    ACTOR_NAME_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ALERTNAMES_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    RENEWED_AT_FIELD_NUMBER: _ClassVar[int]
    ref: str
    group_key: str
    episode: str
    acked: bool
    actor: str
    actor_name: str
    time: _timestamp_pb2.Timestamp
    request_id: str
    alertnames: _containers.RepeatedScalarFieldContainer[str]
    sequence: int
    renewed_at: _timestamp_pb2.Timestamp
    def __init__(self, ref: _Optional[str] = ..., group_key: _Optional[str] = ..., episode: _Optional[str] = ..., acked: _Optional[bool] = ..., actor: _Optional[str] = ..., actor_name: _Optional[str] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., request_id: _Optional[str] = ..., alertnames: _Optional[_Iterable[str]] = ..., sequence: _Optional[int] = ..., renewed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SilencedAlert(_message.Message):
    __slots__ = ("fingerprint", "starts_at", "alertname", "muted", "resolved_at")
    FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    STARTS_AT_FIELD_NUMBER: _ClassVar[int]
    ALERTNAME_FIELD_NUMBER: _ClassVar[int]
    MUTED_FIELD_NUMBER: _ClassVar[int]
    RESOLVED_AT_FIELD_NUMBER: _ClassVar[int]
    fingerprint: str
    starts_at: _timestamp_pb2.Timestamp
    alertname: str
    muted: bool
    resolved_at: _timestamp_pb2.Timestamp
    def __init__(self, fingerprint: _Optional[str] = ..., starts_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., alertname: _Optional[str] = ..., muted: _Optional[bool] = ..., resolved_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SilenceEvent(_message.Message):
    __slots__ = ("silence_id", "matchers", "starts_at", "ends_at", "created_by", "comment", "state", "changes", "actor", "actor_name", "alerts", "observed", "time", "url", "sequence", "renewed_at")
    SILENCE_ID_FIELD_NUMBER: _ClassVar[int]
    MATCHERS_FIELD_NUMBER: _ClassVar[int]
    STARTS_AT_FIELD_NUMBER: _ClassVar[int]
    ENDS_AT_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    ACTOR_NAME_FIELD_NUMBER: _ClassVar[int]
    ALERTS_FIELD_NUMBER: _ClassVar[int]
    OBSERVED_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    RENEWED_AT_FIELD_NUMBER: _ClassVar[int]
    silence_id: str
    matchers: _containers.RepeatedCompositeFieldContainer[_alerts_pb2.Matcher]
    starts_at: _timestamp_pb2.Timestamp
    ends_at: _timestamp_pb2.Timestamp
    created_by: str
    comment: str
    state: str
    changes: _containers.RepeatedScalarFieldContainer[SilenceChange]
    actor: str
    actor_name: str
    alerts: _containers.RepeatedCompositeFieldContainer[SilencedAlert]
    observed: bool
    time: _timestamp_pb2.Timestamp
    url: str
    sequence: int
    renewed_at: _timestamp_pb2.Timestamp
    def __init__(self, silence_id: _Optional[str] = ..., matchers: _Optional[_Iterable[_Union[_alerts_pb2.Matcher, _Mapping]]] = ..., starts_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., ends_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., created_by: _Optional[str] = ..., comment: _Optional[str] = ..., state: _Optional[str] = ..., changes: _Optional[_Iterable[_Union[SilenceChange, str]]] = ..., actor: _Optional[str] = ..., actor_name: _Optional[str] = ..., alerts: _Optional[_Iterable[_Union[SilencedAlert, _Mapping]]] = ..., observed: _Optional[bool] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., url: _Optional[str] = ..., sequence: _Optional[int] = ..., renewed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class AckAlertRequest(_message.Message):
    __slots__ = ("alert",)
    ALERT_FIELD_NUMBER: _ClassVar[int]
    alert: str
    def __init__(self, alert: _Optional[str] = ...) -> None: ...

class AckAlertReply(_message.Message):
    __slots__ = ("outcome", "ref", "short_ref", "alertnames", "actor", "actor_name", "time", "channel", "ts")
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    REF_FIELD_NUMBER: _ClassVar[int]
    SHORT_REF_FIELD_NUMBER: _ClassVar[int]
    ALERTNAMES_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    ACTOR_NAME_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    TS_FIELD_NUMBER: _ClassVar[int]
    outcome: AckOutcome
    ref: str
    short_ref: str
    alertnames: _containers.RepeatedScalarFieldContainer[str]
    actor: str
    actor_name: str
    time: _timestamp_pb2.Timestamp
    channel: str
    ts: str
    def __init__(self, outcome: _Optional[_Union[AckOutcome, str]] = ..., ref: _Optional[str] = ..., short_ref: _Optional[str] = ..., alertnames: _Optional[_Iterable[str]] = ..., actor: _Optional[str] = ..., actor_name: _Optional[str] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., channel: _Optional[str] = ..., ts: _Optional[str] = ...) -> None: ...

class TimelineRequest(_message.Message):
    __slots__ = ("since", "alert", "limit")
    SINCE_FIELD_NUMBER: _ClassVar[int]
    ALERT_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    since: _timestamp_pb2.Timestamp
    alert: str
    limit: int
    def __init__(self, since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., alert: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class TimelineEntry(_message.Message):
    __slots__ = ("time", "kind", "actor", "actor_name", "summary", "ref")
    TIME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    ACTOR_NAME_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    REF_FIELD_NUMBER: _ClassVar[int]
    time: _timestamp_pb2.Timestamp
    kind: TimelineKind
    actor: str
    actor_name: str
    summary: str
    ref: str
    def __init__(self, time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., kind: _Optional[_Union[TimelineKind, str]] = ..., actor: _Optional[str] = ..., actor_name: _Optional[str] = ..., summary: _Optional[str] = ..., ref: _Optional[str] = ...) -> None: ...

class TimelineReply(_message.Message):
    __slots__ = ("entries", "omitted", "since", "alert", "refs", "cut_short")
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    OMITTED_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    ALERT_FIELD_NUMBER: _ClassVar[int]
    REFS_FIELD_NUMBER: _ClassVar[int]
    CUT_SHORT_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[TimelineEntry]
    omitted: int
    since: _timestamp_pb2.Timestamp
    alert: str
    refs: _containers.RepeatedScalarFieldContainer[str]
    cut_short: bool
    def __init__(self, entries: _Optional[_Iterable[_Union[TimelineEntry, _Mapping]]] = ..., omitted: _Optional[int] = ..., since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., alert: _Optional[str] = ..., refs: _Optional[_Iterable[str]] = ..., cut_short: _Optional[bool] = ...) -> None: ...
