"""Generation: model outputs back to audio (`SoundGenerator`, the loudness limiter), a trained run opened once
(`TrainedModel`), long-form generation, plots, and the CLIs that sample (``python -m generate.sounds`` and its
long-form modes) or sample and score with `evaluation` (``generate.evaluate``, ``generate.label_effect``).

The names below are imported on first use (PEP 562, `common.lazy_exports`), not with the package:
``python -m generate.sounds`` times its cold start, and imports TensorFlow and Keras only when it loads a model.
"""

from common.lazy_exports import lazy_exports
from common.numba_cache import prepare_numba_cache

prepare_numba_cache()  # before anything imports librosa: see common/numba_cache.py

_EXPORTS = {
    "beat_aligned_crossfade": "generate.crossfade",
    "equal_power_gains": "generate.crossfade",
    "LevelLimit": "generate.limiter",
    "LoudnessLimiter": "generate.limiter",
    "clip_interpolation": "generate.long_form",
    "continuation": "generate.long_form",
    "gap_fill": "generate.long_form",
    "interpolation": "generate.long_form",
    "long_piece": "generate.long_form",
    "loop": "generate.long_form",
    "plot_comparison": "generate.plots",
    "SoundGenerator": "generate.sound_generator",
    "DEFAULT_MODEL": "generate.trained_model",
    "TrainedModel": "generate.trained_model",
    "write_wav": "generate.wav_file",
    "key_transposition": "generate.written_key",
    "sample_transpositions": "generate.written_key",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
