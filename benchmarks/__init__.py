"""Benchmark scripts: they print measured figures; they are not tests. Each is run as ``python -m benchmarks.NAME``
(``python -m benchmarks.suite`` runs them all); nothing is exported."""

from common.numba_cache import prepare_numba_cache

prepare_numba_cache()  # before anything imports librosa: see common/numba_cache.py
