from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SamplerType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SAMPLER_TYPE_UNSPECIFIED: _ClassVar[SamplerType]
    SAMPLER_TYPE_NEVER: _ClassVar[SamplerType]
    SAMPLER_TYPE_ALWAYS: _ClassVar[SamplerType]
    SAMPLER_TYPE_FLOAT: _ClassVar[SamplerType]
SAMPLER_TYPE_UNSPECIFIED: SamplerType
SAMPLER_TYPE_NEVER: SamplerType
SAMPLER_TYPE_ALWAYS: SamplerType
SAMPLER_TYPE_FLOAT: SamplerType

class Sampler(_message.Message):
    __slots__ = ("type", "rate")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    RATE_FIELD_NUMBER: _ClassVar[int]
    type: SamplerType
    rate: float
    def __init__(self, type: _Optional[_Union[SamplerType, str]] = ..., rate: _Optional[float] = ...) -> None: ...

class GetSamplingRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetSamplingReply(_message.Message):
    __slots__ = ("sampler",)
    SAMPLER_FIELD_NUMBER: _ClassVar[int]
    sampler: Sampler
    def __init__(self, sampler: _Optional[_Union[Sampler, _Mapping]] = ...) -> None: ...

class SetSamplingRequest(_message.Message):
    __slots__ = ("sampler",)
    SAMPLER_FIELD_NUMBER: _ClassVar[int]
    sampler: Sampler
    def __init__(self, sampler: _Optional[_Union[Sampler, _Mapping]] = ...) -> None: ...

class SetSamplingReply(_message.Message):
    __slots__ = ("previous", "current")
    PREVIOUS_FIELD_NUMBER: _ClassVar[int]
    CURRENT_FIELD_NUMBER: _ClassVar[int]
    previous: Sampler
    current: Sampler
    def __init__(self, previous: _Optional[_Union[Sampler, _Mapping]] = ..., current: _Optional[_Union[Sampler, _Mapping]] = ...) -> None: ...
