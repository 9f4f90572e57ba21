"""Turning model outputs (normalised spectrograms) back into audio."""

import numpy as np

from common.errors import ParameterError
from preprocessing.normaliser import load_normaliser
from preprocessing.transform_io import load_transform


class SoundGenerator:
    """Denormalise, undo the log and invert the spectrogram transform.

    The transform (forward and inverse) and the dataset-level normalisation
    statistics are the ones saved beside the trained model, so the inverse uses
    exactly the forward's parameters.

    Args:
        transform: a spectrogram transform with ``invert(log_spectrogram_db, n_iter=..., length=...)``
            (e.g. `preprocessing.LogSpectrogramExtractor`: fast Griffin-Lim).
        normaliser: the dataset's `preprocessing.MinMaxNormaliser` (dB <-> [0, 1]).
        n_iter: Griffin-Lim iterations (more is slower and cleaner; 32 is the default).
    """

    def __init__(self, transform, normaliser, n_iter=32):
        if int(n_iter) < 1:
            raise ParameterError(f"n_iter must be >= 1. Received: n_iter={n_iter}")
        self.transform = transform
        self.normaliser = normaliser
        self.n_iter = int(n_iter)

    @classmethod
    def from_model_dir(cls, model_dir, n_iter=32):
        """Load ``transform.json`` and ``normalisation.json`` from a trained model's folder.

        Raises:
            ParameterError: if either file is missing or unreadable (the message names it).
        """
        from pathlib import Path

        model_dir = Path(model_dir)
        return cls(load_transform(model_dir / "transform.json"), load_normaliser(model_dir / "normalisation.json"), n_iter)

    def spectrogram_to_audio(self, spectrogram, seed=0):
        """One normalised spectrogram to audio.

        Args:
            spectrogram: float array ``(n_freq_bins, n_frames)`` or ``(n_freq_bins, n_frames, 1)``,
                min-max normalised, nominally in [0, 1] (values outside are clipped).
            seed: seed of Griffin-Lim's random initial phase (reproducible output).
        Returns:
            float32 mono audio ``(n_frames * hop_length,)`` at the transform's ``sample_rate``,
            nominally in [-1, 1].
        Raises:
            ParameterError: for a wrong shape or non-finite values.
        """
        spectrogram = np.asarray(spectrogram, dtype=np.float32)
        if spectrogram.ndim == 3 and spectrogram.shape[-1] == 1:
            spectrogram = spectrogram[..., 0]
        if spectrogram.ndim != 2:
            raise ParameterError(
                f"A spectrogram must be (n_freq_bins, n_frames[, 1]). Received: spectrogram.shape={spectrogram.shape}"
            )
        log_spectrogram_db = self.normaliser.denormalise(spectrogram)
        return self.transform.invert(log_spectrogram_db, n_iter=self.n_iter, random_state=seed)

    def generate(self, spectrograms, seeds=None):
        """A batch of normalised spectrograms ``(batch, n_freq_bins, n_frames[, 1])`` to a list of audio arrays."""
        seeds = range(len(spectrograms)) if seeds is None else seeds
        return [self.spectrogram_to_audio(s, seed=int(seed)) for s, seed in zip(spectrograms, seeds)]
