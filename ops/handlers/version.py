"""version.get: every live petstore version and its instances, from petstore_build_info."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence

from chatops.v1 import version_pb2
from ops.backends.prometheus import Sample
from ops.context import CallContext
from ops.deps import Deps
from ops.errors import bad_request

_JOB = re.compile(r"^[A-Za-z0-9_:.-]+$")
METRIC = "petstore_build_info"


def promql(job: str) -> str:
    """The query for one job; the job is checked so it cannot break out of the label matcher."""
    if not _JOB.match(job):
        raise bad_request(f"job must be letters, digits and _ : . - only, not {job!r}")
    return f'{METRIC}{{job="{job}"}}'


def group_versions(samples: Sequence[Sample]) -> version_pb2.GetVersionReply:
    """Samples -> versions with instance counts, most instances first (pure)."""
    by_version: dict[str, set[str]] = defaultdict(set)
    for s in samples:
        labels = dict(s.labels)
        by_version[labels.get("version", "unknown")].add(labels.get("instance", ""))
    ordered = sorted(by_version.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    return version_pb2.GetVersionReply(
        versions=[
            version_pb2.DeployedVersion(version=v, instances=len(i), instance_names=sorted(i))
            for v, i in ordered
        ]
    )


async def get_version(
    deps: Deps, ctx: CallContext, req: version_pb2.GetVersionRequest
) -> version_pb2.GetVersionReply:
    """Ask Prometheus which versions report in."""
    query = promql(req.job.strip() or deps.petstore_job)
    return group_versions(await deps.prometheus.query(query))
