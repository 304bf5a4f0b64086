"""Generated code is exactly what `make proto` produces from the committed .proto files."""

from __future__ import annotations

import filecmp
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("chatops/v1", "petstore/v1")
SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py")


def generated(root: Path) -> set[str]:
    return {
        str(p.relative_to(root))
        for pkg in PACKAGES
        for p in (root / pkg).glob("*")
        if p.name.endswith(SUFFIXES)
    }


def test_regenerating_changes_nothing(tmp_path: Path) -> None:
    protos = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "proto").rglob("*.proto"))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            "-I",
            "proto",
            f"--python_out={tmp_path}",
            f"--pyi_out={tmp_path}",
            f"--grpc_python_out={tmp_path}",
            *protos,
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=120,
    )
    fresh, committed = generated(tmp_path), generated(ROOT)
    assert fresh == committed, "run `make proto`: generated files differ from the .proto set"
    stale = [name for name in sorted(fresh) if not filecmp.cmp(tmp_path / name, ROOT / name, shallow=False)]
    assert not stale, f"run `make proto`: out of date: {stale}"


def test_every_field_carries_a_comment() -> None:
    for proto in (ROOT / "proto").rglob("*.proto"):
        lines = proto.read_text().splitlines()
        assert lines[0] == 'syntax = "proto3";'
        assert any(line.startswith("// ") for line in lines[:4]), f"{proto} has no file comment"
