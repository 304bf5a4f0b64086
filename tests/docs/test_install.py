"""The install is honest: pyproject's bounds match the generated code, `make` installs the lock, and
the lock pins every dependency pyproject names."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from importlib import metadata

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.docs.settings_fields import ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
LOCK_FILE = ROOT / "constraints.txt"


def requirements() -> dict[str, Requirement]:
    """Every dependency pyproject.toml names, runtime and dev, by canonical name."""
    project = PYPROJECT["project"]
    found = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    return {canonicalize_name(r.name): r for r in map(Requirement, found)}


def locked() -> dict[str, Version]:
    pins: dict[str, Version] = {}
    for line in LOCK_FILE.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        name, sep, version = line.partition("==")
        assert sep, f"constraints.txt: {line!r} is not pinned with =="
        pins[canonicalize_name(name)] = Version(version)
    return pins


def test_every_dependency_of_pyproject_is_pinned_in_the_lock_within_its_bounds():
    pins = locked()
    missing = sorted(name for name in requirements() if name not in pins)
    assert not missing, f"constraints.txt lacks {missing}: run `make lock` and commit it"
    for name, req in requirements().items():
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"constraints.txt pins {name}=={pins[name]}, outside pyproject's {req}: run `make lock`"
        )


def test_this_environment_has_exactly_the_locked_versions():
    pins = locked()
    wrong = {}
    for name in requirements():
        installed = Version(metadata.version(name))
        if installed != pins[name]:
            wrong[name] = f"{installed} installed, {pins[name]} locked"
    assert not wrong, f"{wrong}: `make` reinstalls from constraints.txt when it changes"


def test_pip_check_finds_no_broken_requirement():
    done = subprocess.run(
        [sys.executable, "-m", "pip", "check"], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _generated(pattern: str, glob: str) -> set[str]:
    found = set()
    for path in sorted(ROOT.glob(glob)):
        match = re.search(pattern, path.read_text(), re.M)
        assert match, f"{path} does not say which version generated it"
        found.add(match[1])
    assert found, f"no generated files match {glob}"
    return found


def test_the_bounds_of_grpcio_and_protobuf_match_the_generated_code():
    reqs = requirements()
    [grpc] = _generated(r"^GRPC_GENERATED_VERSION = '([0-9.]+)'", "*/v1/*_pb2_grpc.py")
    [proto] = _generated(r"^# Protobuf Python Version: ([0-9.]+)$", "*/v1/*_pb2.py")
    for name, made_by in (("grpcio", grpc), ("protobuf", proto)):
        major = Version(made_by).major
        spec = reqs[name].specifier
        # The oldest allowed release is the one the code was generated for; the next major is refused.
        assert spec.contains(made_by), f"{name} {spec} refuses {made_by}"
        assert not spec.contains(f"{major + 1}.0"), f"{name} {spec} allows the next major"
        older = [v for v in ("0.1", f"{major}.0", made_by) if Version(v) < Version(made_by)]
        assert not any(spec.contains(v) for v in older), f"{name} {spec} allows older than {made_by}"
    assert str(reqs["grpcio-tools"].specifier) == f"=={grpc}", "make proto must use the generating tool"


def test_the_package_is_apache_2_licensed_with_the_text_beside_it():
    project = PYPROJECT["project"]
    assert project["license"] == "Apache-2.0"
    assert project["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    # setuptools reads an SPDX `license` string only from 77 on.
    build = [Requirement(r) for r in PYPROJECT["build-system"]["requires"]]
    [setuptools] = [r for r in build if r.name == "setuptools"]
    assert setuptools.specifier.contains("77.0.0") and not setuptools.specifier.contains("76.9")


def test_make_and_the_image_install_from_the_lock():
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^LOCK := constraints\.txt$", makefile, re.M)
    # A new lock reinstalls.
    assert re.search(r"^\$\(STAMP\): pyproject\.toml \$\(LOCK\)$", makefile, re.M)
    assert "pip install --quiet -c $(LOCK) -e '.[dev]'" in makefile
    assert re.search(r"^lock:$", makefile, re.M)
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "constraints.txt" in dockerfile and "pip install -c constraints.txt" in dockerfile
