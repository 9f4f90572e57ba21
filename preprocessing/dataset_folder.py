"""A preprocessed data set's folder: the one place that names its files, reads them and writes them.

    <data_dir>/
        spectrograms/<split>/<clip_id>.npy   float32 ``(n_freq_bins, n_frames)``, the transform's unit
                            (dB for log_stft and mel); written by ``python -m preprocessing.run``
        latents/<split>/<clip_id>.npy        a latent data set's clips instead (``python -m
                            preprocessing.latents``): float32 ``(height, width, channels)``
        manifest.csv        one row per clip (`preprocessing.manifest`)
        normalisation.json  the `MinMaxNormaliser` fitted on the train split, and the train
                            clips' level summary (`preprocessing.loudness`)
        transform.json      the transform (`preprocessing.transform_io`)
        config.yaml         the resolved `PreprocessConfig`
        skipped.csv         input files (or clips) that were not used, with the reason
        ignored.csv         other files under input_dir, not taken as inputs, with the reason
        latent.json         a latent data set: the first stage, the latent shape and statistics
        latent_decoder.keras  a latent data set: the first stage's decoder, latents -> [0, 1]

A run trained on a data set keeps copies of ``transform.json`` and ``normalisation.json``
(and of a latent data set's ``latent.json`` and ``latent_decoder.keras``) under the same
names (`train.run_folder.RunFolder`). Every write is atomic (`common.atomic`).
"""

import re
import shutil
import threading
from functools import cached_property
from pathlib import Path

import numpy as np

from common.atomic import atomic_path, atomic_save_npy, atomic_write_json, atomic_write_text
from common.config import load_saved_config, save_config
from common.errors import ParameterError
from preprocessing.codec import SpectrogramCodec
from preprocessing.latent_files import LatentFiles
from preprocessing.config import PreprocessConfig
from preprocessing.loudness import LEVELS_KEY, summarise_levels
from preprocessing.manifest import (
    IGNORED_COLUMNS, MANIFEST_COLUMNS, SKIPPED_COLUMNS, SPLITS, csv_text, parse_manifest,
)  # fmt: skip
from preprocessing.normaliser import load_normaliser
from preprocessing.transform_io import load_transform, save_transform

_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
# tf.data calls `DatasetFolder.load_clip` from several threads at once; np.load parses each header
# with ast.literal_eval, which CPython < 3.11.8 / 3.12.1 can break when threads run it concurrently
# ("SystemError: AST constructor recursion depth mismatch", CPython gh-106905; it stopped a
# 20-minute training here), so reads are serialised
_NPY_READ_LOCK = threading.Lock()


class DatasetFolder(LatentFiles):
    """One preprocessed data set folder (module docstring): its file names, reads and writes.

    Nothing is read when the object is made; what is read (the manifest, the transform,
    the normaliser, the latent info, the clips' shape) is read once and kept.

    Args:
        path: str or Path of the folder (created on the first write).
    """

    MANIFEST_FILE = "manifest.csv"
    NORMALISATION_FILE = "normalisation.json"
    TRANSFORM_FILE = "transform.json"
    CONFIG_FILE = "config.yaml"
    SKIPPED_FILE = "skipped.csv"
    IGNORED_FILE = "ignored.csv"
    SPECTROGRAM_DIR = "spectrograms"
    LATENT_DIR = "latents"

    def __init__(self, path):
        self.path = Path(path)

    def __repr__(self):
        return f"DatasetFolder({str(self.path)!r})"

    # === File names ===

    @property
    def manifest_path(self) -> Path:
        return self.path / self.MANIFEST_FILE

    @property
    def normalisation_path(self) -> Path:
        return self.path / self.NORMALISATION_FILE

    @property
    def transform_path(self) -> Path:
        return self.path / self.TRANSFORM_FILE

    @property
    def config_path(self) -> Path:
        return self.path / self.CONFIG_FILE

    @property
    def skipped_path(self) -> Path:
        return self.path / self.SKIPPED_FILE

    @property
    def ignored_path(self) -> Path:
        return self.path / self.IGNORED_FILE

    def clip_relative(self, split, clip_id, latent=False) -> str:
        """The clip file's path relative to the folder, POSIX style, as the manifest's ``path`` holds it:
        ``spectrograms/<split>/<clip_id>.npy`` (``latents/...`` with ``latent``).

        Raises:
            ParameterError: for a split not in `SPLITS`, or a ``clip_id`` that is not
                filesystem-safe (letters, digits, ``._-``, not starting with ``.``).
        """
        if split not in SPLITS:
            raise ParameterError(f"split must be one of {', '.join(SPLITS)}. Received: split={split!r}")
        if not isinstance(clip_id, str) or not _SAFE_ID.match(clip_id):
            raise ParameterError(f"clip_id must be filesystem-safe ([A-Za-z0-9._-]). Received: clip_id={clip_id!r}")
        return f"{self.LATENT_DIR if latent else self.SPECTROGRAM_DIR}/{split}/{clip_id}.npy"

    def clip_path(self, relative) -> Path:
        """The clip file of a manifest row's ``path`` (relative to the folder)."""
        return self.path / relative

    # === Reading ===

    def check(self):
        """Read the manifest, normaliser, transform, latent info and the first train clip's shape now.

        Returns:
            ``self``.
        Raises:
            ParameterError: if the folder or one of those files is missing or unreadable (the
                message names it), or the training split holds no clips.
        """
        if not self.path.is_dir():
            raise ParameterError(
                "Data folder not found; run `python -m preprocessing.run --config ...` first. "
                f"Received: data_dir={str(self.path)!r}"
            )
        _ = self.rows, self.normaliser, self.transform, self.spectrogram_shape, self.latent_info  # read in this order
        return self

    @cached_property
    def rows(self) -> list:
        """The manifest's rows (`preprocessing.manifest.parse_manifest`), in file order.

        Raises:
            ParameterError: naming ``manifest.csv``, if it is missing, lacks a column or holds a bad number.
        """
        try:
            return parse_manifest(self.manifest_path)
        except ValueError as err:  # a number column that is not a number
            raise ParameterError(f"Manifest is corrupt ({err}). Received: path={str(self.manifest_path)!r}") from err

    def split_rows(self, split) -> list:
        """The manifest rows of one split (``train``, ``validation`` or ``test``), in file order."""
        return [row for row in self.rows if row["split"] == split]

    def paths(self, split) -> list:
        """Absolute clip paths (str) of one split, manifest order."""
        return [str(self.clip_path(row["path"])) for row in self.split_rows(split)]

    @cached_property
    def normaliser(self):
        """The `preprocessing.normaliser.MinMaxNormaliser` of ``normalisation.json``.

        Raises:
            ParameterError: naming the file, if it is missing or unreadable.
        """
        return load_normaliser(self.normalisation_path)

    @cached_property
    def transform(self):
        """The `preprocessing.transform.Transform` of ``transform.json``.

        Raises:
            ParameterError: naming the file, if it is missing, unreadable or of an unknown class.
        """
        return load_transform(self.transform_path)

    @property
    def codec(self) -> SpectrogramCodec:
        """The transform and the normaliser as a `SpectrogramCodec` (the transform is read first)."""
        return SpectrogramCodec(self.transform, self.normaliser)

    def read_config(self):
        """The `preprocessing.config.PreprocessConfig` the data set was built with (``config.yaml``).

        A config written by older code loads (`common.config.load_saved_config`): keys added
        since take their defaults, keys removed since are dropped.

        Raises:
            ParameterError: naming the file, if it is missing or not a YAML mapping; or naming
                the key, if a value is bad.
        """
        return load_saved_config(PreprocessConfig, self.config_path)

    @cached_property
    def spectrogram_shape(self) -> tuple:
        """Shape of the stored clips, from the first train clip: ``(n_freq_bins, n_frames)``, a score
        roll's ``(n_pitches, n_steps, 2)``, or a latent data set's ``(height, width, channels)``.

        Raises:
            ParameterError: if the training split holds no clips, or its first clip is unreadable.
        """
        paths = self.paths("train")
        if not paths:
            raise ParameterError(f"The training split holds no clips. Received: data_dir={str(self.path)!r}")
        with _NPY_READ_LOCK:
            return tuple(_load_npy(paths[0], mmap_mode="r").shape)

    def read_clip(self, path) -> np.ndarray:
        """One clip file as stored (float32, the transform's unit, or a latent), not checked.

        Args:
            path: str, bytes (from ``tf.numpy_function``) or Path of a clip file.
        Raises:
            ParameterError: naming the file, if it is missing or not a readable ``.npy`` file.
        """
        with _NPY_READ_LOCK:
            return _load_npy(path.decode() if isinstance(path, bytes) else path)

    def load_clip(self, path) -> np.ndarray:
        """One clip file as float32 `clip_shape()`: a spectrogram normalised to [0, 1] with a channel
        axis (a transform with channels, the score roll: its own), or a latent as stored.

        Args:
            path: str, bytes or Path of a clip file (`paths`).
        Raises:
            ParameterError: if the file is unreadable, or its shape is not the data set's.
        """
        values = self.read_clip(path)
        if values.shape != self.spectrogram_shape:
            raise ParameterError(
                f"Clip shape differs from the dataset's {self.spectrogram_shape}. Received: {path}={values.shape}"
            )
        if self.latent_info is not None:
            return values.astype("float32")
        normalised = self.normaliser.normalise(values)
        return normalised if normalised.ndim == 3 else normalised[..., None]

    def clip_shape(self, crop_frames=None) -> tuple:
        """``(n_freq_bins, n_frames, 1)`` (a latent data set: ``(height, width, channels)``; a transform
        with channels: ``(n_freq_bins, n_frames, n_channels)``, the score roll's ``(48, 64, 2)``) of the
        clips `load_clip` gives, with ``n_frames`` replaced by ``crop_frames`` when given.

        Raises:
            ParameterError: if ``crop_frames`` is not in [1, the clips' frame count].
        """
        frames = self.spectrogram_shape[1]
        if crop_frames is not None and not 0 < crop_frames <= frames:
            raise ParameterError(
                f"random_time_crop must be in [1, {frames}] (the clips' frame count). Received: random_time_crop={crop_frames}"
            )
        channels = self.spectrogram_shape[2] if len(self.spectrogram_shape) == 3 else 1
        return (self.spectrogram_shape[0], crop_frames or frames, channels)

    def class_names(self, split="train", column="label") -> list:
        """The sorted distinct non-empty values of a manifest column (``label``, ``caption``) in a split ([] when none)."""
        return sorted({row.get(column, "") for row in self.split_rows(split)} - {""})

    def label_indices(self, split, class_names, column="label") -> np.ndarray:
        """int32 ``(n,)``: each clip's index in ``class_names`` (`paths` order); ``len(class_names)``
        (the "no label" class) for a clip whose ``column`` value is empty or not among them."""
        lookup = {name: i for i, name in enumerate(class_names)}
        return np.asarray([lookup.get(row.get(column, ""), len(class_names)) for row in self.split_rows(split)], "int32")

    def load_clips(self, split, indices) -> np.ndarray:
        """Clips ``indices`` (positions in `paths` order) of a split, `load_clip` each: float32 ``(n, *clip_shape())``."""
        paths = self.paths(split)
        return np.stack([self.load_clip(paths[int(i)]) for i in indices])

    def load_split(self, split, limit=None) -> np.ndarray:
        """The first ``limit`` (None: all) clips of a split, `load_clip` each: float32 ``(n, *clip_shape())``."""
        paths = self.paths(split)[:limit]
        return np.stack([self.load_clip(p) for p in paths]) if paths else np.zeros((0,) + self.clip_shape(), "float32")

    def moments(self, split="train", max_clips=256, seed=0) -> tuple:
        """Mean and standard deviation of `load_clip` values over up to ``max_clips`` clips (a seeded choice).

        Returns:
            ``(mean, std)``: floats (in [0, 1] for a spectrogram data set).
        """
        paths = self.paths(split)
        chosen = np.random.default_rng(seed).permutation(len(paths))[:max_clips]
        values = np.stack([self.load_clip(paths[i]) for i in chosen])
        return float(values.mean()), float(values.std())

    # === Writing ===

    def write_clip(self, split, clip_id, array, latent=False) -> str:
        """Write one clip atomically, not yet durably.

        Call `common.atomic.sync_to_disk` once after the last clip and before
        `write_manifest`, so the manifest never reaches the disk before the clips it lists.

        Args:
            split: one of `SPLITS`.
            clip_id: filesystem-safe id (letters, digits, ``._-``, not starting with ``.``).
            array: float array stored as float32: a spectrogram ``(n_freq_bins, n_frames)``
                in the transform's unit (``(n_freq_bins, n_frames, n_channels)`` for a transform with
                channels, the score roll), or with ``latent`` a latent ``(height, width, channels)``.
            latent: write under ``latents/`` (a latent data set) instead of ``spectrograms/``.
        Returns:
            The path relative to the folder (`clip_relative`).
        Raises:
            ParameterError: for an unknown split, an unsafe id, an array of the wrong rank,
                or a spectrogram with non-finite values (a latent is written as it is).
        """
        relative = self.clip_relative(split, clip_id, latent)
        array = np.asarray(array, dtype=np.float32)
        if latent and array.ndim != 3:
            raise ParameterError(f"A latent must be 3-D (height, width, channels). Received: array.shape={array.shape}")
        if not latent and array.ndim not in (2, 3):
            raise ParameterError(
                f"A spectrogram must be 2-D (n_freq_bins, n_frames) or 3-D (n_freq_bins, n_frames, n_channels). "
                f"Received: array.shape={array.shape}"
            )
        if not latent and not np.all(np.isfinite(array)):
            raise ParameterError(f"Spectrogram holds non-finite values. Received: clip_id={clip_id!r}")
        atomic_save_npy(self.clip_path(relative), array, durable=False)
        return relative

    def write_manifest(self, rows) -> Path:
        """Write ``manifest.csv``: an iterable of dicts with exactly `MANIFEST_COLUMNS` (`preprocessing.manifest`).

        Raises:
            ParameterError: naming the row, if one lacks a column or has one more.
        """
        path = atomic_write_text(self.manifest_path, csv_text(MANIFEST_COLUMNS, rows, "manifest"))
        self.__dict__.pop("rows", None)  # read afresh next time
        return path

    def write_skipped(self, rows) -> Path:
        """Write ``skipped.csv``: an iterable of dicts with keys ``source_path`` and ``reason``."""
        return atomic_write_text(self.skipped_path, csv_text(SKIPPED_COLUMNS, rows, "skipped"))

    def write_ignored(self, rows) -> Path:
        """Write ``ignored.csv``: an iterable of dicts with keys ``path`` and ``reason``."""
        return atomic_write_text(self.ignored_path, csv_text(IGNORED_COLUMNS, rows, "ignored"))

    def write_normaliser(self, normaliser, clip_levels=None) -> Path:
        """Write ``normalisation.json``: the normaliser's `get_config()` and the clips' level summary.

        Args:
            normaliser: the fitted `preprocessing.MinMaxNormaliser`.
            clip_levels: None, or the train clips' RMS levels in dBFS (manifest ``rms_dbfs``;
                entries that are None or "" are left out). Their
                `preprocessing.loudness.summarise_levels` is stored under
                `preprocessing.loudness.LEVELS_KEY` when at least one is given.
        """
        payload = dict(normaliser.get_config())
        levels = [level for level in (clip_levels or []) if level not in (None, "")]
        if levels:
            payload[LEVELS_KEY] = summarise_levels(levels, split="train")
        self.__dict__.pop("normaliser", None)
        return atomic_write_json(self.normalisation_path, payload)

    def write_transform(self, transform) -> Path:
        """Write ``transform.json`` (`preprocessing.transform_io.save_transform`).

        Raises:
            ParameterError: if the transform's class is not registered.
        """
        self.__dict__.pop("transform", None)
        return save_transform(transform, self.transform_path)

    def write_config(self, config) -> Path:
        """Write the resolved `PreprocessConfig` to ``config.yaml`` (`common.config.save_config`)."""
        return save_config(config, self.config_path)

    def write_latent_info(self, info) -> Path:
        """Write ``latent.json``: a JSON-safe dict (`preprocessing.latents.encode_dataset`'s summary)."""
        self.__dict__.pop("latent_info", None)
        return atomic_write_json(self.latent_info_path, info)

    def write_latent_decoder(self, decoder) -> Path:
        """Save the first stage's decoder (a ``keras.Model``) as ``latent_decoder.keras``."""
        with atomic_path(self.latent_decoder_path) as tmp:
            decoder.save(tmp)
        return self.latent_decoder_path

    def copy_codec_from(self, source) -> None:
        """Copy ``transform.json`` and ``normalisation.json`` from another `DatasetFolder`, byte for byte.

        Raises:
            OSError: if a source file is missing or unreadable.
        """
        for source_path, path in ((source.transform_path, self.transform_path),
                                  (source.normalisation_path, self.normalisation_path)):
            with atomic_path(path) as tmp:
                shutil.copyfile(source_path, tmp)
        self.__dict__.pop("transform", None)
        self.__dict__.pop("normaliser", None)


def _load_npy(path, mmap_mode=None) -> np.ndarray:
    """``np.load`` of one ``.npy`` file, its errors as ParameterError naming the file (no pickles)."""
    try:
        return np.load(path, mmap_mode=mmap_mode, allow_pickle=False)
    except FileNotFoundError as err:
        raise ParameterError(f"Clip file not found. Received: path={str(path)!r}") from err
    except (OSError, ValueError, EOFError) as err:
        raise ParameterError(f"Clip file is unreadable or corrupt ({err}). Received: path={str(path)!r}") from err
