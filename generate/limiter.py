"""A gain-only limiter that keeps generated audio no louder than the music the model learned.

An undertrained model can turn out full-scale noise (RMS near 0 dBFS) from a data
set whose clips sit near -19 dBFS. `LoudnessLimiter` scales such a clip down, in
two conditions applied in turn:

1. its RMS level is above ``rms_ceiling_dbfs`` (the reference: the train clips'
   95th-percentile RMS level, `preprocessing.loudness`): scale it to the ceiling;
2. its sample peak, after step 1, is above ``peak_ceiling_dbfs`` (-1 dBFS by
   default, below full scale, so the 16-bit WAV is never clipped): scale it down
   until it is not.

It never scales up and never clips or changes the waveform's shape: one gain per
clip, reported in dB with the reason. Levels are as in `preprocessing.loudness`
(dBFS, full scale at amplitude 1).

Where the reference comes from (`for_model`), in order:

- ``"model"``: the model folder's statistics (``normalisation.json``, `RunFolder`) hold the train clips'
  level summary (models trained on a data set preprocessed with it, or given it by
  ``python -m preprocessing.measure_levels``);
- ``"data set"``: the model's data set is on disk, its statistics (`DatasetFolder`) hold
  the summary, and its normalisation statistics are the model's (the same data);
- ``"fixed"``: neither (older models and data sets, piano rolls): a fixed
  `FALLBACK_RMS_CEILING_DBFS` of -18 dBFS, the alignment level of EBU R 68
  (0 dBu = -18 dBFS), a moderate level for music that is not mastered loud.
"""

import dataclasses

import numpy as np

from common.errors import ParameterError
from common.json_file import read_json_mapping
from preprocessing.dataset_folder import DatasetFolder
from preprocessing.loudness import peak_dbfs, read_level_summary, rms_dbfs
from train.run_folder import RunFolder

DEFAULT_PEAK_CEILING_DBFS = -1.0
FALLBACK_RMS_CEILING_DBFS = -18.0  # EBU R 68 alignment level
# A limited clip is scaled a further 1e-6 (-8.7e-6 dB) down, so float32 rounding cannot lift it above a ceiling.
_MARGIN = 1.0 - 1e-6


@dataclasses.dataclass(frozen=True)
class LevelLimit:
    """What the limiter did to one clip.

    Attributes:
        gain_db: float <= 0, the gain applied, in dB (0.0: the clip is untouched).
        limited_by: None (untouched), ``"rms"``, ``"peak"`` or ``"rms+peak"`` (the RMS step,
            then the peak step).
        rms_dbfs_in, peak_dbfs_in: the clip's RMS level and sample peak before, in dBFS.
        rms_dbfs_out, peak_dbfs_out: the same after.
    """

    gain_db: float
    limited_by: str | None
    rms_dbfs_in: float
    peak_dbfs_in: float
    rms_dbfs_out: float
    peak_dbfs_out: float

    def as_dict(self):
        """The attributes as a JSON-safe dict, levels rounded to 0.01 dB."""
        return {key: round(value, 2) if isinstance(value, float) else value
                for key, value in dataclasses.asdict(self).items()}


def _ceiling(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not np.isfinite(value) or value > 0:
        raise ParameterError(f"{name} must be a finite level <= 0 dBFS. Received: {name}={value!r}")
    return float(value)


class LoudnessLimiter:
    """One gain per clip, never above 1, that brings it under an RMS and a peak ceiling (module docstring).

    Args:
        rms_ceiling_dbfs: float <= 0, in dBFS: the highest RMS level a clip keeps.
        peak_ceiling_dbfs: float <= 0, in dBFS: the highest sample peak a clip keeps (-1).
        reference: ``"model"``, ``"data set"`` or ``"fixed"``: where ``rms_ceiling_dbfs`` comes from.
        reference_path: the ``normalisation.json`` it was read from (None for ``"fixed"``).
    Raises:
        ParameterError: if a ceiling is not a finite number <= 0 or ``reference`` is unknown.
    """

    REFERENCES = ("model", "data set", "fixed")

    def __init__(self, rms_ceiling_dbfs, peak_ceiling_dbfs=DEFAULT_PEAK_CEILING_DBFS, reference="fixed",
                 reference_path=None):
        self.rms_ceiling_dbfs = _ceiling("rms_ceiling_dbfs", rms_ceiling_dbfs)
        self.peak_ceiling_dbfs = _ceiling("peak_ceiling_dbfs", peak_ceiling_dbfs)
        if reference not in self.REFERENCES:
            raise ParameterError(f"reference must be one of {self.REFERENCES}. Received: reference={reference!r}")
        self.reference = reference
        self.reference_path = None if reference_path is None else str(reference_path)

    @classmethod
    def fixed(cls):
        """The limiter with the fixed fallback ceiling, `FALLBACK_RMS_CEILING_DBFS` (-18 dBFS RMS)."""
        return cls(FALLBACK_RMS_CEILING_DBFS)

    @classmethod
    def for_model(cls, model_dir, data_dir=None):
        """The limiter whose RMS ceiling is the train clips' 95th-percentile level of the model's data.

        Looks in the model folder's ``normalisation.json``, then in ``data_dir``'s (only if its
        ``min_value``/``max_value`` are the model's, i.e. the same data), else uses the fixed
        ceiling; see the module docstring. Does no audio measurement (fast).

        Args:
            model_dir: a trained model folder (``normalisation.json``).
            data_dir: None, or the data set the model was trained on.
        Returns:
            A `LoudnessLimiter` whose ``reference`` says which was used.
        Raises:
            ParameterError: if the model's ``normalisation.json`` is missing or unreadable, or a
                level summary in either file is malformed.
        """
        model_file = RunFolder(model_dir).normalisation_path
        summary = read_level_summary(model_file)
        if summary is not None:
            return cls(min(float(summary["p95"]), 0.0), reference="model", reference_path=model_file)
        data_file = None if not data_dir else DatasetFolder(data_dir).normalisation_path
        if data_file is not None and data_file.is_file():
            statistics = [read_json_mapping(path, "Normalisation file") for path in (model_file, data_file)]
            same_data = all(statistics[0].get(key) == statistics[1].get(key) for key in ("min_value", "max_value"))
            summary = read_level_summary(data_file) if same_data else None
            if summary is not None:
                return cls(min(float(summary["p95"]), 0.0), reference="data set", reference_path=data_file)
        return cls.fixed()

    def describe(self):
        """The settings as a JSON-safe dict (for reports)."""
        return {
            "rms_ceiling_dbfs": round(self.rms_ceiling_dbfs, 2),
            "peak_ceiling_dbfs": round(self.peak_ceiling_dbfs, 2),
            "reference": self.reference,
            "reference_path": self.reference_path,
        }

    def apply(self, audio):
        """Scale one clip down to the ceilings if it is above either.

        Args:
            audio: float array ``(n_samples,)``, n_samples >= 1, finite, full scale at +-1.
        Returns:
            ``(limited, limit)``: float32 ``(n_samples,)``, ``audio * 10**(gain_db / 20)`` (the
            input values, as float32, when ``gain_db`` is 0), with RMS level <= ``rms_ceiling_dbfs``
            and peak <= ``peak_ceiling_dbfs`` if it was limited; and its `LevelLimit`.
        Raises:
            ParameterError: if ``audio`` is not a non-empty 1-D float array or holds non-finite values.
        """
        rms_in, peak_in = rms_dbfs(audio), peak_dbfs(audio)
        audio = np.asarray(audio, dtype=np.float32)
        rms_gain_db = min(0.0, self.rms_ceiling_dbfs - rms_in)
        peak_gain_db = min(0.0, self.peak_ceiling_dbfs - (peak_in + rms_gain_db))
        reasons = [name for name, gain in (("rms", rms_gain_db), ("peak", peak_gain_db)) if gain < 0.0]
        if not reasons:
            return audio.copy(), LevelLimit(0.0, None, rms_in, peak_in, rms_in, peak_in)
        factor = 10.0 ** ((rms_gain_db + peak_gain_db) / 20.0) * _MARGIN
        limited = (audio.astype(np.float64) * factor).astype(np.float32)
        limit = LevelLimit(float(20.0 * np.log10(factor)), "+".join(reasons), rms_in, peak_in,
                           rms_dbfs(limited), peak_dbfs(limited))
        return limited, limit
