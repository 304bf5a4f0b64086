from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PetType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PET_TYPE_UNSPECIFIED: _ClassVar[PetType]
    PET_TYPE_CANINE: _ClassVar[PetType]
    PET_TYPE_FELINE: _ClassVar[PetType]
    PET_TYPE_BIRD: _ClassVar[PetType]
    PET_TYPE_REPTILE: _ClassVar[PetType]

class SamplerType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SAMPLER_TYPE_UNSPECIFIED: _ClassVar[SamplerType]
    SAMPLER_TYPE_NEVER: _ClassVar[SamplerType]
    SAMPLER_TYPE_ALWAYS: _ClassVar[SamplerType]
    SAMPLER_TYPE_FLOAT: _ClassVar[SamplerType]
PET_TYPE_UNSPECIFIED: PetType
PET_TYPE_CANINE: PetType
PET_TYPE_FELINE: PetType
PET_TYPE_BIRD: PetType
PET_TYPE_REPTILE: PetType
SAMPLER_TYPE_UNSPECIFIED: SamplerType
SAMPLER_TYPE_NEVER: SamplerType
SAMPLER_TYPE_ALWAYS: SamplerType
SAMPLER_TYPE_FLOAT: SamplerType

class Date(_message.Message):
    __slots__ = ("year", "month", "day")
    YEAR_FIELD_NUMBER: _ClassVar[int]
    MONTH_FIELD_NUMBER: _ClassVar[int]
    DAY_FIELD_NUMBER: _ClassVar[int]
    year: int
    month: int
    day: int
    def __init__(self, year: _Optional[int] = ..., month: _Optional[int] = ..., day: _Optional[int] = ...) -> None: ...

class Pet(_message.Message):
    __slots__ = ("id", "name", "type", "birthday")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    BIRTHDAY_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    type: PetType
    birthday: Date
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., type: _Optional[_Union[PetType, str]] = ..., birthday: _Optional[_Union[Date, _Mapping]] = ...) -> None: ...

class DateRange(_message.Message):
    __slots__ = ("start", "end")
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    start: Date
    end: Date
    def __init__(self, start: _Optional[_Union[Date, _Mapping]] = ..., end: _Optional[_Union[Date, _Mapping]] = ...) -> None: ...

class AddPetsRequest(_message.Message):
    __slots__ = ("pets",)
    PETS_FIELD_NUMBER: _ClassVar[int]
    pets: _containers.RepeatedCompositeFieldContainer[Pet]
    def __init__(self, pets: _Optional[_Iterable[_Union[Pet, _Mapping]]] = ...) -> None: ...

class AddPetsResponse(_message.Message):
    __slots__ = ("ids",)
    IDS_FIELD_NUMBER: _ClassVar[int]
    ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, ids: _Optional[_Iterable[str]] = ...) -> None: ...

class UpdatePetsRequest(_message.Message):
    __slots__ = ("pets",)
    PETS_FIELD_NUMBER: _ClassVar[int]
    pets: _containers.RepeatedCompositeFieldContainer[Pet]
    def __init__(self, pets: _Optional[_Iterable[_Union[Pet, _Mapping]]] = ...) -> None: ...

class UpdatePetsResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DeletePetsRequest(_message.Message):
    __slots__ = ("ids",)
    IDS_FIELD_NUMBER: _ClassVar[int]
    ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, ids: _Optional[_Iterable[str]] = ...) -> None: ...

class DeletePetsResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SearchPetsRequest(_message.Message):
    __slots__ = ("names", "types", "birthday_range")
    NAMES_FIELD_NUMBER: _ClassVar[int]
    TYPES_FIELD_NUMBER: _ClassVar[int]
    BIRTHDAY_RANGE_FIELD_NUMBER: _ClassVar[int]
    names: _containers.RepeatedScalarFieldContainer[str]
    types: _containers.RepeatedScalarFieldContainer[PetType]
    birthday_range: DateRange
    def __init__(self, names: _Optional[_Iterable[str]] = ..., types: _Optional[_Iterable[_Union[PetType, str]]] = ..., birthday_range: _Optional[_Union[DateRange, _Mapping]] = ...) -> None: ...

class Sampler(_message.Message):
    __slots__ = ("type", "float_value")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    FLOAT_VALUE_FIELD_NUMBER: _ClassVar[int]
    type: SamplerType
    float_value: float
    def __init__(self, type: _Optional[_Union[SamplerType, str]] = ..., float_value: _Optional[float] = ...) -> None: ...

class ChangeSamplerRequest(_message.Message):
    __slots__ = ("sampler",)
    SAMPLER_FIELD_NUMBER: _ClassVar[int]
    sampler: Sampler
    def __init__(self, sampler: _Optional[_Union[Sampler, _Mapping]] = ...) -> None: ...

class ChangeSamplerResponse(_message.Message):
    __slots__ = ("previous", "current")
    PREVIOUS_FIELD_NUMBER: _ClassVar[int]
    CURRENT_FIELD_NUMBER: _ClassVar[int]
    previous: Sampler
    current: Sampler
    def __init__(self, previous: _Optional[_Union[Sampler, _Mapping]] = ..., current: _Optional[_Union[Sampler, _Mapping]] = ...) -> None: ...

class GetSamplerRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetSamplerResponse(_message.Message):
    __slots__ = ("sampler",)
    SAMPLER_FIELD_NUMBER: _ClassVar[int]
    sampler: Sampler
    def __init__(self, sampler: _Optional[_Union[Sampler, _Mapping]] = ...) -> None: ...
