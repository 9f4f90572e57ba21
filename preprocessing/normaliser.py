"""Min-max normalisation of dB spectrograms to [0, 1] with dataset-level statistics.

Generation uses the statistics fitted on the training split: a generated
spectrogram has no original whose per-clip min/max could undo its normalisation.
(Per-clip min/max are still kept in the dataset manifest.)
"""


import numpy as np

from common.errors import ParameterError
from common.serializable import FromConfigMixin
from common.json_file import read_json_mapping
from preprocessing.loudness import LEVELS_KEY


def _finite_number(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or not np.isfinite(value):
        raise ParameterError(f"{name} must be a finite number. Received: {name}={value!r}")
    return float(value)


class MinMaxNormaliser(FromConfigMixin):
    """``y = (x - min_value) / (max_value - min_value)``, clipped to [0, 1], and its inverse.

    Args:
        min_value: finite float, in dB: the value mapped to 0.
        max_value: finite float > min_value, in dB: the value mapped to 1.
    Raises:
        ParameterError: if a value is non-finite or ``max_value <= min_value``.
    """

    def __init__(self, min_value, max_value):
        self.min_value = _finite_number("min_value", min_value)
        self.max_value = _finite_number("max_value", max_value)
        if self.max_value <= self.min_value:
            raise ParameterError(
                f"max_value must be greater than min_value ({self.min_value}). Received: max_value={max_value!r}"
            )

    @classmethod
    def fit(cls, minima, maxima):
        """Fit on per-clip statistics: ``min(minima)`` and ``max(maxima)``.

        Args:
            minima: float array-like, shape `(n_clips,)`, each clip's minimum, in dB.
            maxima: float array-like, shape `(n_clips,)`, each clip's maximum, in dB.
        Returns:
            A `MinMaxNormaliser`.
        Raises:
            ParameterError: if either is empty or non-finite, or the fitted range is empty.
        """
        minima = np.asarray(minima, dtype=np.float64).ravel()
        maxima = np.asarray(maxima, dtype=np.float64).ravel()
        for name, values in (("minima", minima), ("maxima", maxima)):
            if values.size == 0:
                raise ParameterError(f"Cannot fit on no clips. Received: {name}.size=0")
            if not np.all(np.isfinite(values)):
                raise ParameterError(f"{name} holds non-finite values. Received: {name}=<non-finite>")
        return cls(float(minima.min()), float(maxima.max()))

    def normalise(self, x) -> np.ndarray:
        """Map dB values to [0, 1].

        Args:
            x: float array, any shape, in dB.
        Returns:
            float32 array, same shape, in [0, 1] (values outside the fitted range clip).
        Raises:
            ParameterError: if ``x`` holds non-finite values.
        """
        x = np.asarray(x, dtype=np.float32)
        if not np.all(np.isfinite(x)):
            raise ParameterError("x holds non-finite values. Received: x=<non-finite>")
        scaled = (x - np.float32(self.min_value)) / np.float32(self.max_value - self.min_value)
        return np.clip(scaled, 0.0, 1.0).astype(np.float32)

    def denormalise(self, y, clip=True) -> np.ndarray:
        """Map [0, 1] back to dB: ``y * (max_value - min_value) + min_value``.

        Args:
            y: float array, any shape, nominally in [0, 1].
            clip: if True (default), ``y`` is clipped to [0, 1] first, because a
                generator's overshoot has no meaning beyond the fitted dB range.
        Returns:
            float32 array, same shape, in dB, in [min_value, max_value] when clipped.
        Raises:
            ParameterError: if ``y`` holds non-finite values.
        """
        y = np.asarray(y, dtype=np.float32)
        if not np.all(np.isfinite(y)):
            raise ParameterError("y holds non-finite values. Received: y=<non-finite>")
        if clip:
            y = np.clip(y, 0.0, 1.0)
        return (y * np.float32(self.max_value - self.min_value) + np.float32(self.min_value)).astype(np.float32)

    def get_config(self) -> dict:
        """Every constructor argument under its own name (JSON-safe)."""
        return {"min_value": self.min_value, "max_value": self.max_value}

    def __repr__(self):
        return f"MinMaxNormaliser(min_value={self.min_value!r}, max_value={self.max_value!r})"


def load_normaliser(path) -> MinMaxNormaliser:
    """Read a normaliser written by `preprocessing.dataset_folder.DatasetFolder.write_normaliser`.

    The clips' level summary the file may also hold (`preprocessing.loudness.LEVELS_KEY`)
    is not the normaliser's; `preprocessing.loudness.read_level_summary` reads it.

    Raises:
        ParameterError: if the file is missing, not JSON, or holds a bad config.
    """
    config = read_json_mapping(path, "Normalisation file")
    config.pop(LEVELS_KEY, None)
    return MinMaxNormaliser.from_config(config)
