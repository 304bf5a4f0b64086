"""Graphs of Prometheus range queries: the window and its limits, what to draw, drawing, the worker pool."""
