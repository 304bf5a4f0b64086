"""The release manifest: every version of a service the deployer may roll out, and its commits."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chatops.yamlfile import read_yaml

_VERSION = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._+-]{0,63}$")
_COMMIT = re.compile(r"^[0-9a-f]{7,40}$")
_SERVICE = re.compile(r"^[a-z][a-z0-9-]{0,62}$")
_HEX = re.compile(r"^[0-9a-fA-F]+$")
MIN_PREFIX = 4


class ManifestError(ValueError):
    """A manifest that cannot be read or does not make sense; the text names the file and the entry."""


@dataclass(frozen=True)
class Commit:
    """One commit: its full id and subject line."""

    id: str
    subject: str


@dataclass(frozen=True)
class Release:
    """One version of a service; `commits` are the ones it brought (earlier releases hold the rest)."""

    version: str
    commits: tuple[Commit, ...]
    # A demo regression: this share of the pet calls of this build fail (0.3.0 in the demo).
    fault_ratio: float = 0.0

    @property
    def head(self) -> str:
        """The commit the build was made from: its last one."""
        return self.commits[-1].id


@dataclass(frozen=True)
class Found:
    """Where a commit is: the service, the release that brought it, and the commit itself."""

    service: str
    release: Release
    commit: Commit


@dataclass(frozen=True)
class Manifest:
    """Every service's releases, oldest first; a commit is in its own release and every later one."""

    services: Mapping[str, tuple[Release, ...]]

    def releases(self, service: str) -> tuple[Release, ...]:
        return self.services.get(service, ())

    def release(self, service: str, version: str) -> Release | None:
        return next((r for r in self.releases(service) if r.version == version), None)

    def versions_from(self, service: str, version: str) -> tuple[str, ...]:
        """`version` and every later release of the service: the ones that contain its commits."""
        names = [r.version for r in self.releases(service)]
        return tuple(names[names.index(version) :]) if version in names else ()

    def find_commit(self, prefix: str, service: str = "") -> list[Found]:
        """Every commit whose id starts with `prefix` (case-insensitive), in `service` or in any."""
        wanted = prefix.lower()
        return [
            Found(name, release, commit)
            for name, releases in sorted(self.services.items())
            if not service or name == service
            for release in releases
            for commit in release.commits
            if commit.id.startswith(wanted)
        ]


def looks_like_commit(ref: str) -> bool:
    """A bare hex string of at least MIN_PREFIX digits (versions have dots)."""
    return len(ref) >= MIN_PREFIX and bool(_HEX.match(ref))


def _release(service: str, raw: Any, where: str) -> Release:
    if not isinstance(raw, Mapping):
        raise ManifestError(f"{where}: each release must be a mapping with version and commits")
    version = str(raw.get("version", "")).strip()
    if not _VERSION.match(version):
        raise ManifestError(f"{where}: version {version!r} is not a version like 0.2.0")
    commits_raw = raw.get("commits")
    if not isinstance(commits_raw, list) or not commits_raw:
        raise ManifestError(f"{where} ({service} {version}): needs a list of commits")
    commits = []
    for c in commits_raw:
        cid = str((c or {}).get("id", "")).strip().lower() if isinstance(c, Mapping) else ""
        subject = str((c or {}).get("subject", "")).strip() if isinstance(c, Mapping) else ""
        if not _COMMIT.match(cid):
            raise ManifestError(f"{where} ({service} {version}): commit id {cid!r} is not 7 to 40 hex digits")
        if not subject:
            raise ManifestError(f"{where} ({service} {version}): commit {cid} needs a subject")
        commits.append(Commit(cid, subject))
    fault = raw.get("fault_ratio", 0.0)
    if not isinstance(fault, int | float) or not 0.0 <= float(fault) <= 1.0:
        raise ManifestError(f"{where} ({service} {version}): fault_ratio must be a number from 0 to 1")
    return Release(version, tuple(commits), float(fault))


def parse_manifest(doc: Any, source: str = "the manifest") -> Manifest:
    """Check a parsed manifest: unique versions per service, unique commit ids, sensible values."""
    if not isinstance(doc, Mapping) or not isinstance(doc.get("services"), Mapping):
        raise ManifestError(f"{source}: expected `services:` mapping each service to its releases")
    services: dict[str, tuple[Release, ...]] = {}
    for name, entries in doc["services"].items():
        service = str(name)
        if not _SERVICE.match(service):
            raise ManifestError(f"{source}: service name {service!r} must be lower-case letters, digits, -")
        if not isinstance(entries, list) or not entries:
            raise ManifestError(f"{source}: {service} needs a list of releases, oldest first")
        releases = tuple(_release(service, e, f"{source}: {service}[{i}]") for i, e in enumerate(entries))
        versions = [r.version for r in releases]
        dup = next((v for v in versions if versions.count(v) > 1), None)
        if dup:
            raise ManifestError(f"{source}: {service} lists version {dup} twice")
        ids = [c.id for r in releases for c in r.commits]
        again = next((i for i in ids if ids.count(i) > 1), None)
        if again:
            raise ManifestError(f"{source}: {service} lists commit {again} twice")
        services[service] = releases
    return Manifest(services)


def load_manifest(path: Path) -> Manifest:
    """Read and check the manifest at `path`."""
    doc = read_yaml(path, ManifestError, f"the release manifest {path}")
    return parse_manifest(doc, str(path))
