"""`Saver`: what the preprocessing pipeline writes into its data set folder, atomically.

The folder's layout and file names are `preprocessing.dataset_folder.DatasetFolder`'s;
the Saver writes through it: one spectrogram per clip, the manifest, the skipped and
ignored files, the normaliser with the train clips' level summary, the transform and
the resolved config.
"""

from pathlib import Path

from preprocessing.dataset_folder import DatasetFolder


class Saver:
    """Writes one preprocessed dataset under ``output_dir``; every file is written atomically.

    Args:
        output_dir: str or Path; created on first write.
    """

    def __init__(self, output_dir):
        self.output_dir = Path(output_dir)
        self.folder = DatasetFolder(self.output_dir)

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
            The path relative to ``output_dir``, POSIX style (`DatasetFolder.clip_relative`).
        Raises:
            ParameterError: for an unknown split, an unsafe id, or an array that is
                not 2-D or 3-D or holds non-finite values.
        """
        return self.folder.write_clip(split, clip_id, array)

    def save_manifest(self, rows) -> Path:
        """Write the manifest: an iterable of dicts with exactly `preprocessing.manifest.MANIFEST_COLUMNS`
        (source_path the source file, absolute; offset_s and duration_s in seconds,
        min_db and max_db in dB, rms_dbfs the clip's RMS level in dBFS
        (`preprocessing.loudness.rms_dbfs`) or "" or None for none, label and caption
        str, "" for none)."""
        return self.folder.write_manifest(rows)

    def save_skipped(self, rows) -> Path:
        """Write the skipped files: an iterable of dicts with keys ``source_path`` and ``reason``."""
        return self.folder.write_skipped(rows)

    def save_ignored(self, rows) -> Path:
        """Write the ignored files: an iterable of dicts with keys ``path`` and ``reason``."""
        return self.folder.write_ignored(rows)

    def save_normaliser(self, normaliser, clip_levels=None) -> Path:
        """Write the normaliser and the train clips' level summary (`DatasetFolder.write_normaliser`)."""
        return self.folder.write_normaliser(normaliser, clip_levels)

    def save_transform(self, transform) -> Path:
        """Write the transform (`DatasetFolder.write_transform`)."""
        return self.folder.write_transform(transform)

    def save_config(self, config) -> Path:
        """Write the resolved `preprocessing.config.PreprocessConfig` (`DatasetFolder.write_config`)."""
        return self.folder.write_config(config)
