"""Benchmark scripts that print figures; `make bench` runs them all (see bench/all.py)."""

from __future__ import annotations

import argparse


def arguments(doc: str | None) -> argparse.ArgumentParser:
    """A benchmark's argument parser; its --help describes it with its docstring's first paragraph."""
    return argparse.ArgumentParser(description=doc.split("\n\n")[0] if doc else None)
