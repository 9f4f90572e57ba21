"""Benchmark scripts: they print measured figures; they are not tests."""
