"""Streaming a preprocessed dataset (``preprocessing.run`` output) into ``tf.data``.

The ``.npy`` files hold log-magnitude spectrograms in dB; they are read lazily,
normalised to [0, 1] with the dataset-level `MinMaxNormaliser` and given a
channel axis, so a batch is float32 ``(batch, n_freq_bins, n_frames, 1)``.
"""

from pathlib import Path

import numpy as np
import tensorflow as tf

from common.errors import ParameterError
from preprocessing.normaliser import load_normaliser
from preprocessing.saver import read_manifest
from preprocessing.transform_io import load_transform


class SpectrogramData:
    """A preprocessed dataset folder: manifest, transform, normaliser and clips.

    Args:
        data_dir: folder written by ``python -m preprocessing.run`` (holds
            ``manifest.csv``, ``normalisation.json``, ``transform.json``, ``spectrograms/``).
    Raises:
        ParameterError: if the folder or any of those files is missing, or the
            training split is empty.
    """

    def __init__(self, data_dir):
        self.data_dir = Path(data_dir)
        if not self.data_dir.is_dir():
            raise ParameterError(
                "Data folder not found; run `python -m preprocessing.run --config ...` first. "
                f"Received: data_dir={str(self.data_dir)!r}"
            )
        self.rows = read_manifest(self.data_dir)
        self.normaliser = load_normaliser(self.data_dir / "normalisation.json")
        self.transform = load_transform(self.data_dir / "transform.json")
        if not self.paths("train"):
            raise ParameterError(f"The training split holds no clips. Received: data_dir={str(self.data_dir)!r}")
        first = np.load(self.paths("train")[0], mmap_mode="r")
        self.spectrogram_shape = tuple(first.shape)  # (n_freq_bins, n_frames)

    def paths(self, split):
        """Absolute ``.npy`` paths of one split (``train``, ``validation`` or ``test``), manifest order."""
        return [str(self.data_dir / row["path"]) for row in self.rows if row["split"] == split]

    def _load(self, path):
        spectrogram = np.load(path.decode() if isinstance(path, bytes) else path)
        if spectrogram.shape != self.spectrogram_shape:
            raise ParameterError(
                f"Clip shape differs from the dataset's {self.spectrogram_shape}. Received: {path}={spectrogram.shape}"
            )
        return self.normaliser.normalise(spectrogram)[..., None]

    def clip_shape(self, crop_frames=None):
        """``(n_freq_bins, n_frames, 1)`` of the batches `dataset` gives with ``crop_frames``.

        Raises:
            ParameterError: if ``crop_frames`` exceeds the clips' frame count.
        """
        frames = self.spectrogram_shape[1]
        if crop_frames is not None and not 0 < crop_frames <= frames:
            raise ParameterError(
                f"random_time_crop must be in [1, {frames}] (the clips' frame count). Received: random_time_crop={crop_frames}"
            )
        return (self.spectrogram_shape[0], crop_frames or frames, 1)

    def dataset(self, split, batch_size, shuffle=True, repeat=True, seed=0, shuffle_buffer=512, crop_frames=None):
        """A ``tf.data.Dataset`` of float32 batches ``(batch, n_freq_bins, n_frames, 1)`` in [0, 1].

        Args:
            split: ``train``, ``validation`` or ``test``.
            batch_size: global batch size (``tf.distribute`` splits it across replicas).
            shuffle: shuffle file order and clips (seeded).
            repeat: repeat forever (training); otherwise one pass.
            seed: shuffle seed.
            shuffle_buffer: clips held for shuffling.
            crop_frames: None, or the frame count of a crop of each clip (augmentation):
                at a random (seeded) offset when ``shuffle``, else the first frames;
                batches are then ``(batch, n_freq_bins, crop_frames, 1)``.
        Raises:
            ParameterError: if the split is empty or ``crop_frames`` exceeds the clips' frames.
        """
        paths = self.paths(split)
        if not paths:
            raise ParameterError(f"Split has no clips. Received: split={split!r}")
        shape = self.spectrogram_shape + (1,)
        ds = tf.data.Dataset.from_tensor_slices(paths)
        if shuffle:
            ds = ds.shuffle(len(paths), seed=seed, reshuffle_each_iteration=True)
        if repeat:
            ds = ds.repeat()
        ds = ds.map(
            lambda p: tf.ensure_shape(tf.numpy_function(self._load, [p], tf.float32), shape),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
        if crop_frames is not None:
            cropped = self.clip_shape(crop_frames)
            if shuffle:
                ds = ds.map(lambda clip: tf.image.random_crop(clip, cropped, seed=seed), num_parallel_calls=tf.data.AUTOTUNE)
            else:
                ds = ds.map(lambda clip: clip[:, :crop_frames], num_parallel_calls=tf.data.AUTOTUNE)
        if shuffle:
            ds = ds.shuffle(shuffle_buffer, seed=seed)
        return ds.batch(batch_size, drop_remainder=repeat).prefetch(tf.data.AUTOTUNE)

    def load_split(self, split, limit=None):
        """Normalised clips of a split as one float32 array ``(n, n_freq_bins, n_frames, 1)``."""
        paths = self.paths(split)[:limit]
        return np.stack([self._load(p) for p in paths]) if paths else np.zeros((0,) + self.spectrogram_shape + (1,), "float32")

    def moments(self, split="train", max_clips=256, seed=0):
        """Mean and standard deviation of normalised values over up to ``max_clips`` clips.

        Returns:
            ``(mean, std)``: floats in [0, 1].
        """
        paths = self.paths(split)
        chosen = np.random.default_rng(seed).permutation(len(paths))[:max_clips]
        values = np.stack([self._load(paths[i]) for i in chosen])
        return float(values.mean()), float(values.std())
