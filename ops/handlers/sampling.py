"""sampling.get and sampling.set through the petstore's gRPC API."""

from __future__ import annotations

import math

from chatops import samplers
from chatops.v1 import sampling_pb2
from ops.backends.petstore import SamplerSetting
from ops.context import CallContext
from ops.deps import Deps
from ops.errors import bad_request

_CHOICES = samplers.listed(samplers.forms(samplers.KINDS, " with a rate in (0, 1]"))


def to_setting(sampler: sampling_pb2.Sampler) -> SamplerSetting:
    """Check a requested sampler (pure): never, always, or float with a rate in (0, 1]."""
    kind = samplers.KIND.get(sampler.type)
    if kind is None:
        raise bad_request(f"sampler type must be {_CHOICES}")
    if kind == samplers.RATED:
        rate = sampler.rate
        if not math.isfinite(rate) or not 0.0 < rate <= 1.0:
            raise bad_request(f"sampling rate must be in (0, 1], e.g. 0.1 for 10%, not {rate:g}")
        return SamplerSetting(kind, rate)
    return SamplerSetting(kind)


def to_pb(setting: SamplerSetting) -> sampling_pb2.Sampler:
    return sampling_pb2.Sampler(
        type=samplers.TYPE.get(setting.kind, sampling_pb2.SAMPLER_TYPE_UNSPECIFIED),
        rate=setting.rate if setting.kind == samplers.RATED else 0.0,
    )


async def get_sampling(
    deps: Deps, ctx: CallContext, req: sampling_pb2.GetSamplingRequest
) -> sampling_pb2.GetSamplingReply:
    """The sampler in force."""
    return sampling_pb2.GetSamplingReply(sampler=to_pb(await deps.petstore.get()))


async def set_sampling(
    deps: Deps, ctx: CallContext, req: sampling_pb2.SetSamplingRequest
) -> sampling_pb2.SetSamplingReply:
    """Switch the sampler; the request is checked before any call."""
    wanted = to_setting(req.sampler)
    previous, current = await deps.petstore.change(wanted)
    return sampling_pb2.SetSamplingReply(previous=to_pb(previous), current=to_pb(current))
