"""How loud a data set's clips are: each clip's RMS level and the train split's summary.

The level of a clip is its RMS in dBFS, ``20 * log10(sqrt(mean(x**2)))`` with
full scale at amplitude 1 (so a full-scale square wave is 0 dBFS and a
full-scale sine -3.01 dBFS; no AES17 sine offset is added). It is measured on
the clip's audio content, without the zero padding of a tail clip.

The pipeline writes each clip's level to the manifest (column ``rms_dbfs``) and
the train split's summary into ``normalisation.json`` under `LEVELS_KEY`,
so it travels with the normalisation statistics to every model trained on the
data set (``train.run_folder`` copies that file). `generate.sound_generator`
reads it to keep generated audio no louder than the data it learned.

A data set or model written before the summary existed can be given it later
with ``python -m preprocessing.measure_levels`` (it measures the clips from
their source audio). A piano-roll data set has no audio clips: its manifest
leaves ``rms_dbfs`` empty and its ``normalisation.json`` has no summary.
"""

import numpy as np

from common.atomic import atomic_write_json
from common.errors import ParameterError
from common.json_file import read_json_mapping

# the key of the level summary in normalisation.json
LEVELS_KEY = "clip_rms_dbfs"
# levels of silence are floored here (an all-zero clip has no finite dB level)
FLOOR_DBFS = -200.0
_FLOOR_AMPLITUDE = 10.0 ** (FLOOR_DBFS / 20.0)


def _audio(audio, name="audio"):
    audio = np.asarray(audio)
    if audio.ndim != 1 or audio.size == 0 or not np.issubdtype(audio.dtype, np.floating):
        raise ParameterError(f"{name} must be a non-empty 1-D float array. Received: {name}.shape={audio.shape}, "
                             f"dtype={audio.dtype}")
    if not np.all(np.isfinite(audio)):
        raise ParameterError(f"{name} holds non-finite values. Received: {name}=<non-finite>")
    return audio


def rms_dbfs(audio) -> float:
    """RMS level of a mono clip in dBFS, ``20 * log10(sqrt(mean(audio**2)))`` (module docstring).

    Args:
        audio: float array ``(n_samples,)``, n_samples >= 1, full scale at +-1.
    Returns:
        float, in dBFS, >= `FLOOR_DBFS` (-200, for silence); 0 for a full-scale square wave.
    Raises:
        ParameterError: if ``audio`` is not a non-empty 1-D float array or holds non-finite values.
    """
    audio = _audio(audio).astype(np.float64)
    return float(20.0 * np.log10(max(np.sqrt(np.mean(np.square(audio))), _FLOOR_AMPLITUDE)))


def clip_levels_dbfs(clips, lengths):
    """`rms_dbfs` of several zero-padded clips at once, each over its first ``lengths[i]`` samples.

    Args:
        clips: float array ``(n_clips, n_samples)``, full scale at +-1, finite, zero
            after each clip's content (a tail clip's padding).
        lengths: ints ``(n_clips,)``, 1 <= lengths[i] <= n_samples, the samples of content.
    Returns:
        float64 array ``(n_clips,)`` in dBFS, >= `FLOOR_DBFS`; equal to ``rms_dbfs(clips[i, :lengths[i]])``
        up to float64 rounding (the padding adds nothing to the sum of squares).
    Raises:
        ParameterError: if the shapes disagree or a length is out of range.
    """
    clips = np.asarray(clips)
    lengths = np.asarray(lengths)
    if clips.ndim != 2 or lengths.shape != (clips.shape[0],) or np.any(lengths < 1) or np.any(lengths > clips.shape[1]):
        raise ParameterError(
            f"clips must be (n_clips, n_samples) and lengths (n_clips,) in [1, n_samples]. "
            f"Received: clips.shape={clips.shape}, lengths={lengths.tolist()}"
        )
    mean_squares = np.square(clips, dtype=np.float64).sum(axis=1) / lengths
    return 20.0 * np.log10(np.maximum(np.sqrt(mean_squares), _FLOOR_AMPLITUDE))


def peak_dbfs(audio) -> float:
    """Sample peak of a mono clip in dBFS, ``20 * log10(max |audio|)``.

    Args:
        audio: float array ``(n_samples,)``, n_samples >= 1, full scale at +-1.
    Returns:
        float, in dBFS, >= `FLOOR_DBFS`; 0 at full scale.
    Raises:
        ParameterError: as `rms_dbfs`.
    """
    audio = _audio(audio)
    return float(20.0 * np.log10(max(float(np.max(np.abs(audio))), _FLOOR_AMPLITUDE)))


def summarise_levels(levels, split="train") -> dict:
    """The summary of clip levels that `LEVELS_KEY` holds.

    Args:
        levels: float array-like ``(n_clips,)``, n_clips >= 1, each clip's `rms_dbfs`, in dBFS.
        split: the split the clips come from (recorded as is).
    Returns:
        dict: ``split``, ``clips`` (int), and in dBFS, rounded to 0.01 dB, ``median``,
        ``p95`` (the 95th percentile, numpy's linear interpolation) and ``max``.
    Raises:
        ParameterError: if ``levels`` is empty or holds non-finite values.
    """
    levels = np.asarray(levels, dtype=np.float64).ravel()
    if levels.size == 0:
        raise ParameterError("Cannot summarise the levels of no clips. Received: levels.size=0")
    if not np.all(np.isfinite(levels)):
        raise ParameterError("levels holds non-finite values. Received: levels=<non-finite>")
    return {
        "split": str(split),
        "clips": int(levels.size),
        "median": round(float(np.median(levels)), 2),
        "p95": round(float(np.percentile(levels, 95)), 2),
        "max": round(float(levels.max()), 2),
    }


def read_level_summary(normalisation_path):
    """The level summary in a ``normalisation.json``, or None if it has none (written before it existed).

    Args:
        normalisation_path: a data set's or model folder's ``normalisation.json``.
    Returns:
        dict as `summarise_levels` returns, or None.
    Raises:
        ParameterError: if the file is missing or not a JSON mapping, or its summary lacks
            ``p95`` or holds a non-number there (the message names the file).
    """
    summary = read_json_mapping(normalisation_path, "Normalisation file").get(LEVELS_KEY)
    if summary is None:
        return None
    p95 = summary.get("p95") if isinstance(summary, dict) else None
    if isinstance(p95, bool) or not isinstance(p95, (int, float)) or not np.isfinite(p95):
        raise ParameterError(f"{LEVELS_KEY} in the normalisation file must hold a number p95. "
                             f"Received: path={str(normalisation_path)!r}")
    return summary


def add_level_summary(normalisation_path, summary):
    """Write ``summary`` into ``normalisation_path`` under `LEVELS_KEY`, keeping its other keys (atomic).

    Raises:
        ParameterError: if the file is missing or not a JSON mapping.
    """
    payload = read_json_mapping(normalisation_path, "Normalisation file")
    payload[LEVELS_KEY] = summary
    return atomic_write_json(normalisation_path, payload)
