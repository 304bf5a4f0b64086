import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DeployStep(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DEPLOY_STEP_UNSPECIFIED: _ClassVar[DeployStep]
    DEPLOY_STEP_REQUESTED: _ClassVar[DeployStep]
    DEPLOY_STEP_STARTED: _ClassVar[DeployStep]
    DEPLOY_STEP_CANARY_HEALTHY: _ClassVar[DeployStep]
    DEPLOY_STEP_PROMOTED: _ClassVar[DeployStep]
    DEPLOY_STEP_ROLLED_BACK: _ClassVar[DeployStep]
    DEPLOY_STEP_FAILED: _ClassVar[DeployStep]

class DeployKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DEPLOY_KIND_UNSPECIFIED: _ClassVar[DeployKind]
    DEPLOY_KIND_DEPLOY: _ClassVar[DeployKind]
    DEPLOY_KIND_ROLLBACK: _ClassVar[DeployKind]
    DEPLOY_KIND_INSTALL: _ClassVar[DeployKind]
DEPLOY_STEP_UNSPECIFIED: DeployStep
DEPLOY_STEP_REQUESTED: DeployStep
DEPLOY_STEP_STARTED: DeployStep
DEPLOY_STEP_CANARY_HEALTHY: DeployStep
DEPLOY_STEP_PROMOTED: DeployStep
DEPLOY_STEP_ROLLED_BACK: DeployStep
DEPLOY_STEP_FAILED: DeployStep
DEPLOY_KIND_UNSPECIFIED: DeployKind
DEPLOY_KIND_DEPLOY: DeployKind
DEPLOY_KIND_ROLLBACK: DeployKind
DEPLOY_KIND_INSTALL: DeployKind

class InstanceVersion(_message.Message):
    __slots__ = ("name", "version", "address", "metrics", "since")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: str
    address: str
    metrics: str
    since: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., version: _Optional[str] = ..., address: _Optional[str] = ..., metrics: _Optional[str] = ..., since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class DeployEvent(_message.Message):
    __slots__ = ("deploy_id", "service", "step", "kind", "time", "requested_at", "actor", "actor_name", "from_version", "to_version", "canary", "instances", "reason", "settle_seconds", "max_error_ratio", "error_ratio", "canary_calls", "request_id", "channel", "agent", "sequence")
    DEPLOY_ID_FIELD_NUMBER: _ClassVar[int]
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_AT_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    ACTOR_NAME_FIELD_NUMBER: _ClassVar[int]
    FROM_VERSION_FIELD_NUMBER: _ClassVar[int]
    TO_VERSION_FIELD_NUMBER: _ClassVar[int]
    CANARY_FIELD_NUMBER: _ClassVar[int]
    INSTANCES_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    SETTLE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    MAX_ERROR_RATIO_FIELD_NUMBER: _ClassVar[int]
    ERROR_RATIO_FIELD_NUMBER: _ClassVar[int]
    CANARY_CALLS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    AGENT_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    deploy_id: str
    service: str
    step: DeployStep
    kind: DeployKind
    time: _timestamp_pb2.Timestamp
    requested_at: _timestamp_pb2.Timestamp
    actor: str
    actor_name: str
    from_version: str
    to_version: str
    canary: str
    instances: _containers.RepeatedCompositeFieldContainer[InstanceVersion]
    reason: str
    settle_seconds: float
    max_error_ratio: float
    error_ratio: float
    canary_calls: int
    request_id: str
    channel: str
    agent: str
    sequence: int
    def __init__(self, deploy_id: _Optional[str] = ..., service: _Optional[str] = ..., step: _Optional[_Union[DeployStep, str]] = ..., kind: _Optional[_Union[DeployKind, str]] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., requested_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., actor: _Optional[str] = ..., actor_name: _Optional[str] = ..., from_version: _Optional[str] = ..., to_version: _Optional[str] = ..., canary: _Optional[str] = ..., instances: _Optional[_Iterable[_Union[InstanceVersion, _Mapping]]] = ..., reason: _Optional[str] = ..., settle_seconds: _Optional[float] = ..., max_error_ratio: _Optional[float] = ..., error_ratio: _Optional[float] = ..., canary_calls: _Optional[int] = ..., request_id: _Optional[str] = ..., channel: _Optional[str] = ..., agent: _Optional[str] = ..., sequence: _Optional[int] = ...) -> None: ...

class StartDeployRequest(_message.Message):
    __slots__ = ("service", "version")
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    service: str
    version: str
    def __init__(self, service: _Optional[str] = ..., version: _Optional[str] = ...) -> None: ...

class StartDeployReply(_message.Message):
    __slots__ = ("deploy",)
    DEPLOY_FIELD_NUMBER: _ClassVar[int]
    deploy: DeployEvent
    def __init__(self, deploy: _Optional[_Union[DeployEvent, _Mapping]] = ...) -> None: ...

class RollbackRequest(_message.Message):
    __slots__ = ("service",)
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    service: str
    def __init__(self, service: _Optional[str] = ...) -> None: ...

class RollbackReply(_message.Message):
    __slots__ = ("deploy",)
    DEPLOY_FIELD_NUMBER: _ClassVar[int]
    deploy: DeployEvent
    def __init__(self, deploy: _Optional[_Union[DeployEvent, _Mapping]] = ...) -> None: ...

class ListDeploysRequest(_message.Message):
    __slots__ = ("service", "limit")
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    service: str
    limit: int
    def __init__(self, service: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class DeploySummary(_message.Message):
    __slots__ = ("deploy_id", "service", "kind", "actor", "actor_name", "from_version", "to_version", "requested_at", "step", "updated_at", "reason", "in_progress")
    DEPLOY_ID_FIELD_NUMBER: _ClassVar[int]
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    ACTOR_NAME_FIELD_NUMBER: _ClassVar[int]
    FROM_VERSION_FIELD_NUMBER: _ClassVar[int]
    TO_VERSION_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_AT_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    IN_PROGRESS_FIELD_NUMBER: _ClassVar[int]
    deploy_id: str
    service: str
    kind: DeployKind
    actor: str
    actor_name: str
    from_version: str
    to_version: str
    requested_at: _timestamp_pb2.Timestamp
    step: DeployStep
    updated_at: _timestamp_pb2.Timestamp
    reason: str
    in_progress: bool
    def __init__(self, deploy_id: _Optional[str] = ..., service: _Optional[str] = ..., kind: _Optional[_Union[DeployKind, str]] = ..., actor: _Optional[str] = ..., actor_name: _Optional[str] = ..., from_version: _Optional[str] = ..., to_version: _Optional[str] = ..., requested_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., step: _Optional[_Union[DeployStep, str]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reason: _Optional[str] = ..., in_progress: _Optional[bool] = ...) -> None: ...

class ListDeploysReply(_message.Message):
    __slots__ = ("deploys",)
    DEPLOYS_FIELD_NUMBER: _ClassVar[int]
    deploys: _containers.RepeatedCompositeFieldContainer[DeploySummary]
    def __init__(self, deploys: _Optional[_Iterable[_Union[DeploySummary, _Mapping]]] = ...) -> None: ...

class ReleaseStatusRequest(_message.Message):
    __slots__ = ("ref", "service")
    REF_FIELD_NUMBER: _ClassVar[int]
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    ref: str
    service: str
    def __init__(self, ref: _Optional[str] = ..., service: _Optional[str] = ...) -> None: ...

class ReleaseCommit(_message.Message):
    __slots__ = ("id", "subject")
    ID_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    id: str
    subject: str
    def __init__(self, id: _Optional[str] = ..., subject: _Optional[str] = ...) -> None: ...

class ReleaseStatusReply(_message.Message):
    __slots__ = ("ref", "found", "service", "version", "commit", "versions", "live", "live_instances", "total_instances", "live_since", "instances", "reporting", "in_progress")
    REF_FIELD_NUMBER: _ClassVar[int]
    FOUND_FIELD_NUMBER: _ClassVar[int]
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    COMMIT_FIELD_NUMBER: _ClassVar[int]
    VERSIONS_FIELD_NUMBER: _ClassVar[int]
    LIVE_FIELD_NUMBER: _ClassVar[int]
    LIVE_INSTANCES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_INSTANCES_FIELD_NUMBER: _ClassVar[int]
    LIVE_SINCE_FIELD_NUMBER: _ClassVar[int]
    INSTANCES_FIELD_NUMBER: _ClassVar[int]
    REPORTING_FIELD_NUMBER: _ClassVar[int]
    IN_PROGRESS_FIELD_NUMBER: _ClassVar[int]
    ref: str
    found: bool
    service: str
    version: str
    commit: ReleaseCommit
    versions: _containers.RepeatedScalarFieldContainer[str]
    live: bool
    live_instances: int
    total_instances: int
    live_since: _timestamp_pb2.Timestamp
    instances: _containers.RepeatedCompositeFieldContainer[InstanceVersion]
    reporting: int
    in_progress: DeploySummary
    def __init__(self, ref: _Optional[str] = ..., found: _Optional[bool] = ..., service: _Optional[str] = ..., version: _Optional[str] = ..., commit: _Optional[_Union[ReleaseCommit, _Mapping]] = ..., versions: _Optional[_Iterable[str]] = ..., live: _Optional[bool] = ..., live_instances: _Optional[int] = ..., total_instances: _Optional[int] = ..., live_since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., instances: _Optional[_Iterable[_Union[InstanceVersion, _Mapping]]] = ..., reporting: _Optional[int] = ..., in_progress: _Optional[_Union[DeploySummary, _Mapping]] = ...) -> None: ...

class DeployMessage(_message.Message):
    __slots__ = ("channel", "ts", "note", "confirmed_by")
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    TS_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    CONFIRMED_BY_FIELD_NUMBER: _ClassVar[int]
    channel: str
    ts: str
    note: str
    confirmed_by: str
    def __init__(self, channel: _Optional[str] = ..., ts: _Optional[str] = ..., note: _Optional[str] = ..., confirmed_by: _Optional[str] = ...) -> None: ...
