"""Benchmark scripts: they print measured figures; they are not tests."""

from common.numba_cache import prepare_numba_cache

prepare_numba_cache()  # before anything imports librosa: see common/numba_cache.py
