"""Evaluation: musicnn embeddings, FAD, KID, spectrogram metrics, reference degradations, symbolic measures of part music."""

from common.numba_cache import prepare_numba_cache

prepare_numba_cache()  # before anything imports librosa: see common/numba_cache.py
