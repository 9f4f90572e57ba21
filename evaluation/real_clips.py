"""The real clips every score is relative to: read from a data set or a folder, split into two halves.

`generate.evaluate` scores against real music it reads here: the held-out clips of
a model's data set (from the original audio files its manifest names, so they are
the audio a listener hears, not a spectrogram inverted) or every audio file in a
folder, cut into clips of the model's length. The clips are split into two
disjoint halves: half A is the reference, half B the floor ("real vs real") and
the source of the ceilings (`context_sets`: half B with white noise, low-passed).
"""

import sys

import numpy as np

from common.errors import ParameterError
from evaluation.compare import AudioSet
from evaluation.degradations import add_white_noise, low_pass
from preprocessing.dataset_folder import DatasetFolder
from preprocessing.transform import MIDI


def fit_length(audio, n_samples):
    """``audio`` as float32 ``(n_samples,)``: cut, or zero-padded at the end."""
    audio = np.asarray(audio, dtype=np.float32)[:n_samples]
    return np.pad(audio, (0, n_samples - audio.shape[0]))


def own_key(row) -> dict:
    """The inverse option that renders a key-normalised roll in its piece's own key (none for other rows)."""
    transposition = row.get("transposition")
    return {"transposition": -int(transposition)} if transposition else {}


def dataset_clips(data_dir, splits, clip_samples, sample_rate, rows=None):
    """Original audio of the dataset's clips in ``splits`` (or of the manifest ``rows`` given), each
    ``(clip_samples,)`` float32.

    A data set of a representation read from MIDI (the piano and score rolls) has no audio
    in its manifest: its clips are the rolls rendered by the data set's transform (FluidSynth
    on its program, at ``sample_rate``, which must be the transform's), the same renderer its
    models' samples go through. A key-normalised data set's rolls (`preprocessing.keys`) are
    rendered in their pieces' own keys (minus the manifest row's ``transposition``): real
    music in the keys it was written in, as `generate.evaluate` writes a key-normalised
    model's samples in keys drawn from the training data (`generate.written_key`).

    Args:
        data_dir: str or Path of the data set (`preprocessing.dataset_folder.DatasetFolder`).
        splits: split names (``train``, ``validation``, ``test``); ignored when ``rows`` are given.
        clip_samples: int, samples per clip.
        sample_rate: Hz, the rate the audio is read at.
        rows: None, or manifest rows (dicts with ``source_path``, ``offset_s``, ``duration_s``).
    Returns:
        list of float32 ``(clip_samples,)`` arrays, in manifest order.
    Raises:
        ParameterError: if the manifest is missing, has no clip in those splits, or names
            an audio file that cannot be read (the message names it).
    """
    from preprocessing.loader import Loader

    data = DatasetFolder(data_dir)
    if not data.manifest_path.is_file():
        raise ParameterError(
            "The real clips come from the model's dataset, which is not there: build it (bash scripts/demo.sh "
            f"does) or pass --data or --reference. Received: data_dir={str(data_dir)!r}"
        )
    if rows is None:
        rows = [row for row in data.rows if row["split"] in splits]
    if not rows:
        raise ParameterError(f"The dataset has no clips in splits {list(splits)}. Received: data_dir={str(data_dir)!r}")
    transform = data.transform
    if transform.input_kind == MIDI:
        if transform.sample_rate != sample_rate:
            raise ParameterError(f"The data set's rolls render at {transform.sample_rate} Hz. Received: sample_rate={sample_rate}")
        return [fit_length(transform.invert(data.read_clip(data.clip_path(row["path"])), **own_key(row)), clip_samples)
                for row in rows]
    return [
        fit_length(Loader(sample_rate, offset_s=row["offset_s"], duration_s=row["duration_s"]).load(row["source_path"]), clip_samples)
        for row in rows
    ]


def folder_clips(folder, clip_samples, sample_rate):
    """Non-overlapping clips of ``clip_samples`` from every audio file under ``folder``.

    A file that cannot be decoded is reported on stderr and skipped.

    Args:
        folder: str or Path, searched recursively (`preprocessing.sources`).
        clip_samples: int, samples per clip.
        sample_rate: Hz, the rate the audio is read at.
    Returns:
        list of float32 ``(clip_samples,)`` arrays.
    Raises:
        ParameterError: if the folder has no audio file, or no file gives a whole clip.
    """
    from preprocessing.loader import Loader
    from preprocessing.sources import discover_sources

    loader = Loader(sample_rate)
    clips = []
    for record in discover_sources("folder", folder, validation_fraction=0.0, test_fraction=0.0):
        try:
            audio = loader.load(record.path)
        except ParameterError as err:
            print(f"skipped: {err}", file=sys.stderr)
            continue
        clips.extend(audio[start : start + clip_samples] for start in range(0, len(audio) - clip_samples + 1, clip_samples))
    if not clips:
        raise ParameterError(f"No audio file under the folder holds a whole clip ({clip_samples} samples). Received: reference={str(folder)!r}")
    return clips


def halves(clips, num, seed):
    """Two disjoint sets of ``min(num, len(clips) // 2)`` clips, in a seeded random order.

    Args:
        clips: list of clips.
        num: int >= 0, the most clips per half (0: as many as there are).
        seed: int, seeds the order.
    Returns:
        ``(half_a, half_b)``: two lists of the same length.
    Raises:
        ParameterError: if that is fewer than 2 clips per half.
    """
    order = np.random.default_rng(seed).permutation(len(clips))
    n = min(int(num), len(clips) // 2) if num else len(clips) // 2
    if n < 2:
        raise ParameterError(f"Need at least 4 real clips (2 per half). Received: clips={len(clips)}, num={num}")
    return [clips[i] for i in order[:n]], [clips[i] for i in order[n : 2 * n]]


def spread_rows(rows, count):
    """``count`` of ``rows`` at evenly spaced positions (all of them when there are fewer)."""
    if count >= len(rows):
        return list(rows)
    return [rows[i] for i in np.linspace(0, len(rows) - 1, count).round().astype(int)]


def context_sets(held_out, sample_rate):
    """The floor and the two degraded ceilings made of half B, as `evaluation.compare.AudioSet`.

    Args:
        held_out: half B, float mono clips ``(n_samples,)``.
        sample_rate: Hz.
    Returns:
        ``[floor, white noise 20 dB SNR, low-passed]``: the low-pass is at 4 kHz, or at a
        quarter of the sample rate when 4 kHz is at or above Nyquist (8 kHz or less).
    """
    cutoff_hz = 4000.0 if sample_rate > 8000 else sample_rate / 4  # 4 kHz unless that is Nyquist or above
    return [
        AudioSet("real, other half (floor)", held_out, sample_rate, "floor"),
        AudioSet("real + white noise 20 dB SNR", [add_white_noise(c, 20.0, seed=i) for i, c in enumerate(held_out)], sample_rate, "ceiling"),
        AudioSet(f"real, low-passed {cutoff_hz / 1000:g} kHz", [low_pass(c, sample_rate, cutoff_hz) for c in held_out],
                 sample_rate, "ceiling"),
    ]
