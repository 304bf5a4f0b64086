"""Read a YAML file a person wrote, failing with a sentence that names it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


def read_yaml(path: Path, error: type[Exception], what: str = "") -> Any:
    """The document in `path`; `error` saying "cannot read <what>" or "<what> is not valid YAML"
    (`what` is the path unless given)."""
    what = what or str(path)
    try:
        return yaml.safe_load(path.read_text())
    except OSError as exc:
        raise error(f"cannot read {what}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise error(f"{what} is not valid YAML: {exc}") from None
