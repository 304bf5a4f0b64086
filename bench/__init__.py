"""Benchmark scripts that print figures; `make bench` runs them all (see bench/all.py)."""
