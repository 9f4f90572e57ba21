"""`SpectrogramCodec`: a transform and its data set's normaliser, the pair that maps audio to a model's values and back.

A model sees a representation normalised to [0, 1] with the statistics of the
training split (`preprocessing.normaliser.MinMaxNormaliser`), and the transform
that made it (`preprocessing.transform.Transform`) is the only one whose inverse
fits. Both are saved in every data set and run folder
(`preprocessing.dataset_folder.DatasetFolder`, `train.run_folder.RunFolder`, which
name the files) and are loaded together here, so a caller never pairs a transform
with the wrong statistics.
"""

import numpy as np

from common.errors import ParameterError
from preprocessing.normaliser import load_normaliser
from preprocessing.transform_io import load_transform


class SpectrogramCodec:
    """Audio <-> normalised values through one transform and its data set's normaliser.

    Args:
        transform: a `preprocessing.transform.Transform`.
        normaliser: the `preprocessing.normaliser.MinMaxNormaliser` fitted on the
            training split of the data set ``transform`` made (its values' unit:
            dB for log_stft and mel, companded coefficients for mdct, note values
            for piano_roll).
    """

    def __init__(self, transform, normaliser):
        self.transform = transform
        self.normaliser = normaliser

    @classmethod
    def from_files(cls, transform_path, normalisation_path):
        """Load a transform (`preprocessing.transform_io.save_transform`'s file) and its normaliser
        (`preprocessing.normaliser.load_normaliser`'s file).

        Args:
            transform_path, normalisation_path: str or Path of the two files (a folder's own
                names come from `DatasetFolder.codec` or `RunFolder.codec`).
        Raises:
            ParameterError: if either file is missing or unreadable (the message names it;
                the transform is read first).
        """
        return cls(load_transform(transform_path), load_normaliser(normalisation_path))

    @property
    def sample_rate(self) -> int:
        """Hz, of the audio `encode` reads and `to_audio` returns (the transform's)."""
        return self.transform.sample_rate

    def normalise(self, values) -> np.ndarray:
        """The transform's values (any shape, its own unit) mapped to [0, 1] (`MinMaxNormaliser.normalise`)."""
        return self.normaliser.normalise(values)

    def denormalise(self, normalised) -> np.ndarray:
        """Values in [0, 1] (clipped to it first) mapped back to the transform's unit (`MinMaxNormaliser.denormalise`)."""
        return self.normaliser.denormalise(normalised)

    def encode(self, source) -> np.ndarray:
        """``normalise(transform.extract(source))``: float32 ``(n_freq_bins, n_frames)`` in [0, 1].

        Args:
            source: what the transform's `extract` reads (a 1-D float signal at
                ``sample_rate`` Hz for an audio transform).
        Raises:
            ParameterError: as the transform's `extract`.
        """
        return self.normalise(self.transform.extract(source))

    def model_values(self, normalised) -> np.ndarray:
        """A model's array of one clip as the transform's values shape, float32, not denormalised.

        A model sees every clip with a channel axis: ``(n_freq_bins, n_frames, 1)`` for a
        transform of one channel, ``(n_freq_bins, n_frames, n_channels)`` for one with
        channels (the score roll: 2). The transform's values have no channel axis in the
        first case (`preprocessing.transform.Transform.values_shape`).

        Args:
            normalised: float array ``(n_freq_bins, n_frames[, 1])``, or ``(n_freq_bins,
                n_frames, n_channels)`` for a transform with channels.
        Returns:
            float32 array of the transform's `values_shape`.
        Raises:
            ParameterError: for another rank or channel count (``Received: spectrogram.shape=...``).
        """
        normalised = np.asarray(normalised, dtype=np.float32)
        channels = self.transform.n_channels
        if channels == 1 and normalised.ndim == 3 and normalised.shape[-1] == 1:
            normalised = normalised[..., 0]
        fits = normalised.ndim == 2 if channels == 1 else normalised.ndim == 3 and normalised.shape[-1] == channels
        if not fits:
            expected = "(n_freq_bins, n_frames[, 1])" if channels == 1 else f"(n_freq_bins, n_frames, {channels})"
            raise ParameterError(f"A spectrogram must be {expected}. Received: spectrogram.shape={normalised.shape}")
        return normalised

    def to_audio(self, normalised, length=None, **options) -> np.ndarray:
        """Audio of one normalised array: denormalise, then the transform's inverse.

        Args:
            normalised: float array ``(n_freq_bins, n_frames)`` or ``(n_freq_bins, n_frames, 1)``
                (a transform with channels: ``(n_freq_bins, n_frames, n_channels)``, `model_values`),
                nominally in [0, 1] (values outside are clipped).
            length: int > 0 or None: samples returned; None: the transform's
                ``samples_for(n_frames)``.
            **options: the transform's inverse options (`Transform.inverse_options`;
                e.g. ``n_iter`` and ``random_state`` for Griffin-Lim), nothing else.
        Returns:
            float32 mono audio ``(length,)`` at ``sample_rate`` Hz, nominally in [-1, 1].
        Raises:
            ParameterError: for a wrong shape, non-finite values, or an option the
                transform does not take (naming it).
        """
        return self.transform.invert(self.denormalise(self.model_values(normalised)), length=length, **options)
