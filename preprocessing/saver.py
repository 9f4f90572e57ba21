"""The preprocessed dataset's folder layout, written atomically.

    <output_dir>/
        spectrograms/<split>/<clip_id>.npy   float32 dB, shape (n_fft // 2, n_frames); the
                            transform's values_shape (rows, frames[, channels]) in general
        manifest.csv        one row per clip (MANIFEST_COLUMNS); label and caption
                            are "" when the clip has none, rms_dbfs "" for a piano roll;
                            source_path is the absolute, resolved path of the clip's
                            audio (or MIDI) file (an older manifest may hold one relative
                            to the working directory it was built in: read as written)
        normalisation.json  MinMaxNormaliser config, fitted on the train split, and
                            the train clips' level summary (preprocessing.loudness)
        transform.json      the spectrogram transform (see transform_io)
        config.yaml         the resolved PreprocessConfig
        skipped.csv         input files that were not used (bad audio), with the reason
        ignored.csv         other files under input_dir, not taken as inputs
                            (not audio, hidden), with the reason
"""

import csv
import io
import re
from pathlib import Path

import numpy as np

from common.atomic import atomic_save_npy, atomic_write_json, atomic_write_text
from common.errors import ParameterError
from preprocessing.loudness import LEVELS_KEY, summarise_levels
from preprocessing.transform_io import save_transform as _save_transform

SPLITS = ("train", "validation", "test")
MANIFEST_COLUMNS = (
    "clip_id", "split", "path", "source_path", "piece", "offset_s", "duration_s", "min_db", "max_db",
    "rms_dbfs", "label", "caption",
)  # fmt: skip
# Columns added after the first datasets were written: a manifest without them reads as ""
# (rms_dbfs as None).
OPTIONAL_MANIFEST_COLUMNS = ("rms_dbfs", "label", "caption")
SKIPPED_COLUMNS = ("source_path", "reason")
IGNORED_COLUMNS = ("path", "reason")
_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def _csv_text(columns, rows, what):
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for i, row in enumerate(rows):
        missing = [c for c in columns if c not in row]
        extra = [c for c in row if c not in columns]
        if missing or extra:
            raise ParameterError(
                f"{what} row {i} must have exactly the columns {', '.join(columns)}. "
                f"Received: missing={missing}, extra={extra}"
            )
        writer.writerow(row)
    return buffer.getvalue()


class Saver:
    """Writes one preprocessed dataset under ``output_dir``; every file is written atomically.

    Args:
        output_dir: str or Path; created on first write.
    """

    def __init__(self, output_dir):
        self.output_dir = Path(output_dir)

    def save_spectrogram(self, split, clip_id, array) -> str:
        """Write one clip's spectrogram atomically, not yet durably.

        Call `common.atomic.sync_to_disk` once after the last clip and before
        `save_manifest` (the pipeline does), so the manifest never reaches the
        disk before the clips it lists.

        Args:
            split: one of "train", "validation", "test".
            clip_id: filesystem-safe id (letters, digits, ``._-``, not starting with ``.``).
            array: float array, shape `(n_freq_bins, n_frames)`, in dB, or `(n_freq_bins,
                n_frames, n_channels)` for a transform with channels (the score roll); stored as float32.
        Returns:
            The path relative to ``output_dir``, POSIX style: ``spectrograms/<split>/<clip_id>.npy``.
        Raises:
            ParameterError: for an unknown split, an unsafe id, or an array that is
                not 2-D or 3-D or holds non-finite values.
        """
        if split not in SPLITS:
            raise ParameterError(f"split must be one of {', '.join(SPLITS)}. Received: split={split!r}")
        if not isinstance(clip_id, str) or not _SAFE_ID.match(clip_id):
            raise ParameterError(f"clip_id must be filesystem-safe ([A-Za-z0-9._-]). Received: clip_id={clip_id!r}")
        array = np.asarray(array, dtype=np.float32)
        if array.ndim not in (2, 3):
            raise ParameterError(
                f"A spectrogram must be 2-D (n_freq_bins, n_frames) or 3-D (n_freq_bins, n_frames, n_channels). "
                f"Received: array.shape={array.shape}"
            )
        if not np.all(np.isfinite(array)):
            raise ParameterError(f"Spectrogram holds non-finite values. Received: clip_id={clip_id!r}")
        relative = f"spectrograms/{split}/{clip_id}.npy"
        atomic_save_npy(self.output_dir / relative, array, durable=False)
        return relative

    def save_manifest(self, rows) -> Path:
        """Write ``manifest.csv``: an iterable of dicts with exactly MANIFEST_COLUMNS
        (source_path the source file, absolute; offset_s and duration_s in seconds,
        min_db and max_db in dB, rms_dbfs the clip's RMS level in dBFS
        (`preprocessing.loudness.rms_dbfs`) or "" or None for none, label and caption
        str, "" for none)."""
        return atomic_write_text(self.output_dir / "manifest.csv", _csv_text(MANIFEST_COLUMNS, rows, "manifest"))

    def save_skipped(self, rows) -> Path:
        """Write ``skipped.csv``: an iterable of dicts with keys ``source_path`` and ``reason``."""
        return atomic_write_text(self.output_dir / "skipped.csv", _csv_text(SKIPPED_COLUMNS, rows, "skipped"))

    def save_ignored(self, rows) -> Path:
        """Write ``ignored.csv``: an iterable of dicts with keys ``path`` and ``reason``."""
        return atomic_write_text(self.output_dir / "ignored.csv", _csv_text(IGNORED_COLUMNS, rows, "ignored"))

    def save_normaliser(self, normaliser, clip_levels=None) -> Path:
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
        return atomic_write_json(self.output_dir / "normalisation.json", payload)

    def save_transform(self, transform) -> Path:
        """Write ``transform.json`` via `preprocessing.transform_io.save_transform`."""
        return _save_transform(transform, self.output_dir / "transform.json")


def read_manifest(output_dir) -> list:
    """Read ``<output_dir>/manifest.csv`` back as a list of dicts.

    A manifest written before the label and caption columns existed
    (OPTIONAL_MANIFEST_COLUMNS) reads with ``""`` in them.

    Returns:
        One dict per clip with MANIFEST_COLUMNS; offset_s, duration_s, min_db and
        max_db as floats, rms_dbfs a float or None (none: a piano roll, or a
        manifest older than the column), the rest as str (label and caption "" for none;
        source_path as written: absolute, or in an older manifest relative to the
        working directory, and opened as such).
    Raises:
        ParameterError: if the file is missing or lacks a required column.
    """
    path = Path(output_dir) / "manifest.csv"
    if not path.is_file():
        raise ParameterError(f"Manifest not found. Received: path={str(path)!r}")
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        required = [c for c in MANIFEST_COLUMNS if c not in OPTIONAL_MANIFEST_COLUMNS]
        missing = [c for c in required if c not in (reader.fieldnames or [])]
        if missing:
            raise ParameterError(f"Manifest lacks column(s) {', '.join(missing)}. Received: path={str(path)!r}")
        rows = []
        for row in reader:
            for key in ("offset_s", "duration_s", "min_db", "max_db"):
                row[key] = float(row[key])
            for key in OPTIONAL_MANIFEST_COLUMNS:
                row[key] = row.get(key) or ""
            row["rms_dbfs"] = float(row["rms_dbfs"]) if row["rms_dbfs"] else None
            rows.append(row)
    return rows
