"""Every `*Settings` class in `<pkg>/settings.py`: what the docs and compose must agree with."""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

from pydantic_settings import BaseSettings

ROOT = Path(__file__).resolve().parents[2]


def settings_modules() -> list[str]:
    """Module names of every settings.py in the project's packages (nested ones included)."""
    found = []
    for path in sorted(ROOT.glob("*/settings.py")) + sorted(ROOT.glob("*/*/settings.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        if rel.parts[0] in ("tests", ".venv", "build") or not (ROOT / rel.parts[0] / "__init__.py").exists():
            continue
        found.append(".".join(rel.parts))
    return found


def settings_classes() -> dict[str, type[BaseSettings]]:
    """`module.Class` -> class, for every BaseSettings subclass defined in a settings module."""
    classes = {}
    for name in settings_modules():
        module = importlib.import_module(name)
        for attr, value in vars(module).items():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseSettings)
                and attr.endswith("Settings")
                and value.__module__ == name
            ):
                classes[f"{name}.{attr}"] = value
    return classes


def required_fields(cls: type[BaseSettings]) -> set[str]:
    return {name for name, info in cls.model_fields.items() if info.is_required()}
