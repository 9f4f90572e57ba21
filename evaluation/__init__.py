"""Evaluation: scoring only. Musicnn embeddings, FAD, KID, nearest-neighbour (memorisation) distances, audio
statistics, timbre and mode classifiers, spectrogram metrics, seams, reference degradations, symbolic measures of
part music.

The real clips scores are relative to (`evaluation.real_clips`) and the context rows beside them come from here;
sampling the models is `generate`'s (``python -m generate.evaluate``, ``python -m generate.label_effect``).
The names below are imported on first use (PEP 562, `common.lazy_exports`), not with the package:
``python -m generate.sounds`` reads `evaluation.audio_statistics` and starts without TensorFlow, Keras or
scikit-learn. (`evaluation.audio_statistics.audio_statistics` is not among them: it shares its module's name.)
"""

from common.lazy_exports import lazy_exports
from common.numba_cache import prepare_numba_cache

prepare_numba_cache()  # before anything imports librosa: see common/numba_cache.py

_EXPORTS = {
    "mean_statistics": "evaluation.audio_statistics",
    "AudioSet": "evaluation.compare",
    "format_table": "evaluation.compare",
    "score_sets": "evaluation.compare",
    "add_white_noise": "evaluation.degradations",
    "low_pass": "evaluation.degradations",
    "MusicnnEmbedder": "evaluation.embeddings",
    "frechet_audio_distance": "evaluation.frechet",
    "frechet_distance": "evaluation.frechet",
    "kernel_inception_distance": "evaluation.kid",
    "RealClassifier": "evaluation.label_effect",
    "clip_features": "evaluation.label_effect",
    "fit_real_classifier": "evaluation.label_effect",
    "paired_differences": "evaluation.label_effect",
    "memorisation_report": "evaluation.memorisation",
    "memorisation_rows": "evaluation.memorisation",
    "nearest_train_distances": "evaluation.memorisation",
    "plot_memorisation": "evaluation.memorisation_plot",
    "fit_classifier": "evaluation.mode",
    "key_features": "evaluation.mode",
    "mean_chroma": "evaluation.mode",
    "load_musicnn": "evaluation.musicnn",
    "context_sets": "evaluation.real_clips",
    "dataset_clips": "evaluation.real_clips",
    "folder_clips": "evaluation.real_clips",
    "halves": "evaluation.real_clips",
    "seam_ratio": "evaluation.seams",
    "spectral_flux": "evaluation.seams",
    "paired_spectrogram_metrics": "evaluation.spectrogram_metrics",
    "spectrogram_mse": "evaluation.spectrogram_metrics",
    "spectrogram_ssim": "evaluation.spectrogram_metrics",
    "measure_set": "evaluation.symbolic",
    "parallel_motions": "evaluation.symbolic",
    "timbre_features": "evaluation.timbre",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
