"""The petstore's settings: where it listens, which version it reports, how it samples traces."""

from __future__ import annotations

import importlib.metadata
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from chatops.samplers import listed
from chatops.settings import BusSettings, HostPort, HostPorts
from petstore.sampler import WRITTEN, SamplerSpec, SamplerSpecError


def _package_version() -> str:
    try:
        return importlib.metadata.version("chatops")
    except importlib.metadata.PackageNotFoundError:
        return "0.0.0"


def _sampler(value: str) -> str:
    try:
        SamplerSpec.parse(value)
    except SamplerSpecError as exc:
        raise ValueError(f"must be {listed(WRITTEN, ' or ')} with RATE in (0, 1] ({exc})") from None
    return value


SamplerText = Annotated[str, AfterValidator(_sampler)]


class PetstoreSettings(BusSettings):
    """Server: where to listen, version, sampler. Client and demo: PETSTORE_ADDR."""

    PETSTORE_LISTEN: HostPort = "127.0.0.1:6742"
    PETSTORE_METRICS_LISTEN: HostPort = "127.0.0.1:9101"
    PETSTORE_VERSION: str = Field(default_factory=_package_version, min_length=1)
    # The commit the build was made from, for the `commit` label of petstore_build_info.
    PETSTORE_COMMIT: str = Field(default="", pattern=r"^[0-9a-fA-F]{0,64}$")
    # A demo regression: this share of the pet calls fail with INTERNAL. The deployer sets it for a
    # release whose manifest entry says so (0.3.0 in the demo), so a bad release really is bad.
    PETSTORE_FAULT_RATIO: float = Field(default=0.0, ge=0.0, le=1.0)
    PETSTORE_SAMPLER: SamplerText = "float:0.1"
    # Where the demo load and the CLI connect: one host:port, or several (calls go round robin).
    PETSTORE_ADDR: HostPorts = "127.0.0.1:6742"
    # Standard OpenTelemetry names: the OTLP exporter reads its own endpoint variables; these two
    # decide whether it runs at all and how soon a batch of spans leaves.
    OTEL_TRACES_EXPORTER: Literal["otlp", "none"] = "otlp"
    OTEL_BSP_SCHEDULE_DELAY: int = Field(default=500, ge=1, le=60_000)

    @property
    def sampler(self) -> SamplerSpec:
        return SamplerSpec.parse(self.PETSTORE_SAMPLER)
