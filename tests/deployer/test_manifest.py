"""The release manifest: what it accepts, what it refuses, and how a commit or version is found."""

from __future__ import annotations

from pathlib import Path

import pytest

from deployer.manifest import ManifestError, load_manifest, looks_like_commit, parse_manifest
from tools.harness.components import RELEASES


def _doc(*releases: dict[str, object]) -> dict[str, object]:
    return {"services": {"petstore": list(releases)}}


def _release(version: str, *ids: str, **extra: object) -> dict[str, object]:
    return {"version": version, "commits": [{"id": i, "subject": f"change {i[:4]}"} for i in ids], **extra}


def test_the_committed_manifest_has_the_three_demo_releases() -> None:
    manifest = load_manifest(RELEASES)
    releases = manifest.releases("petstore")
    assert [r.version for r in releases] == ["0.1.0", "0.2.0", "0.3.0"]
    assert [r.fault_ratio for r in releases] == [0.0, 0.0, 0.6]  # 0.3.0: the demo regression
    assert releases[1].head == "9ed5549d2fcae8763fe546b7cedb0cf8de18f1fc"
    assert manifest.versions_from("petstore", "0.2.0") == ("0.2.0", "0.3.0")
    (found,) = manifest.find_commit("85C5E41")
    assert found.release.version == "0.2.0" and found.commit.subject.startswith("Update and delete")


def test_a_prefix_may_match_several_commits() -> None:
    manifest = parse_manifest(_doc(_release("1.0.0", "abcd111", "abcd222")))
    assert len(manifest.find_commit("abcd")) == 2 and len(manifest.find_commit("abcd1")) == 1
    assert manifest.find_commit("abcd", service="other") == []


@pytest.mark.parametrize(
    ("doc", "says"),
    [
        ({"releases": []}, "expected `services:`"),
        ({"services": {"Pet Store": [_release("1.0.0", "abcdef0")]}}, "service name"),
        (_doc(), "needs a list of releases"),
        (_doc({"version": "1.0.0"}), "needs a list of commits"),
        (_doc(_release("1 0", "abcdef0")), "is not a version"),
        (_doc(_release("1.0.0", "xyz")), "is not 7 to 40 hex digits"),
        (_doc(_release("1.0.0", "abcdef0"), _release("1.0.0", "abcdef1")), "lists version 1.0.0 twice"),
        (_doc(_release("1.0.0", "abcdef0"), _release("1.1.0", "abcdef0")), "lists commit abcdef0 twice"),
        (_doc(_release("1.0.0", "abcdef0", fault_ratio=2)), "fault_ratio"),
        (_doc({"version": "1.0.0", "commits": [{"id": "abcdef0"}]}), "needs a subject"),
    ],
)
def test_a_bad_manifest_says_what_is_wrong(doc: dict[str, object], says: str) -> None:
    with pytest.raises(ManifestError, match=says):
        parse_manifest(doc, "releases.yaml")


def test_an_unreadable_manifest_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="cannot read the release manifest"):
        load_manifest(tmp_path / "nope.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("services: [")
    with pytest.raises(ManifestError, match="not valid YAML"):
        load_manifest(broken)


def test_what_looks_like_a_commit() -> None:
    assert looks_like_commit("85c5") and looks_like_commit("85C5E41")
    assert not looks_like_commit("85c") and not looks_like_commit("0.2.0") and not looks_like_commit("beta")
