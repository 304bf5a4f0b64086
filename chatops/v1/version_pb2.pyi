from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetVersionRequest(_message.Message):
    __slots__ = ("job",)
    JOB_FIELD_NUMBER: _ClassVar[int]
    job: str
    def __init__(self, job: _Optional[str] = ...) -> None: ...

class DeployedVersion(_message.Message):
    __slots__ = ("version", "instances", "instance_names")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    INSTANCES_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_NAMES_FIELD_NUMBER: _ClassVar[int]
    version: str
    instances: int
    instance_names: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, version: _Optional[str] = ..., instances: _Optional[int] = ..., instance_names: _Optional[_Iterable[str]] = ...) -> None: ...

class GetVersionReply(_message.Message):
    __slots__ = ("versions", "omitted")
    VERSIONS_FIELD_NUMBER: _ClassVar[int]
    OMITTED_FIELD_NUMBER: _ClassVar[int]
    versions: _containers.RepeatedCompositeFieldContainer[DeployedVersion]
    omitted: int
    def __init__(self, versions: _Optional[_Iterable[_Union[DeployedVersion, _Mapping]]] = ..., omitted: _Optional[int] = ...) -> None: ...
