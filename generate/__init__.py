"""Generation: spectrograms back to audio, and the sampling CLI."""

from common.numba_cache import prepare_numba_cache

prepare_numba_cache()  # before anything imports librosa: see common/numba_cache.py

from generate.sound_generator import SoundGenerator  # noqa: E402

__all__ = ["SoundGenerator"]
