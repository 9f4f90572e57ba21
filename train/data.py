"""Streaming a preprocessed data set (``preprocessing.run`` output) into ``tf.data`` for training.

`SpectrogramData` is the data set folder (`preprocessing.dataset_folder.DatasetFolder`,
which reads the manifest, the normaliser and the clips) checked for training, and its
step-indexed stream. Log-magnitude clips are read lazily, normalised to [0, 1] with the
data set's `MinMaxNormaliser` and given a channel axis, so a batch is float32
``(batch, n_freq_bins, n_frames, 1)``; a latent data set's clips (``preprocessing.latents``)
are read as they are, so a batch is ``(batch, height, width, channels)``.
"""

import numpy as np
import tensorflow as tf

from common.errors import ParameterError
from preprocessing.dataset_folder import DatasetFolder


class SpectrogramData(DatasetFolder):
    """A preprocessed data set folder, read and checked for training, and its tf.data stream.

    Args:
        data_dir: folder written by ``python -m preprocessing.run`` or ``python -m preprocessing.latents``.
    Raises:
        ParameterError: if the folder or its manifest, normaliser or transform is missing or
            unreadable, or the training split is empty (`DatasetFolder.check`).
    """

    def __init__(self, data_dir):
        super().__init__(data_dir)
        self.check()
        self._cache = {}

    def stream(self, split, global_batch_size, element_fn=None, seed=0, shuffle=True, start_step=0,
               crop_frames=None, input_context=None, cache=False, conditions=None):
        """Step-indexed batches streamed from disk: batch ``k`` depends only on ``(seed, k)``.

        The clips form one endless sequence; element ``i`` (0, 1, 2, ...) is clip
        ``perm_e[i mod n]`` of epoch ``e = i // n``, where ``perm_e`` is a permutation of
        the split's ``n`` clips seeded by ``(seed, e)`` (``shuffle``) or the manifest order.
        Step ``k`` takes elements ``k * B .. (k + 1) * B - 1`` (``B = global_batch_size``),
        so a run resumed at ``start_step`` sees exactly the batches an uninterrupted run
        would, and the random crop and ``element_fn``'s randomness, seeded by ``(seed, i)``,
        are the same too. Under ``tf.distribute`` (``input_context`` from
        ``strategy.distribute_datasets_from_function``) input pipeline ``w`` of ``W`` loads
        only its ``B / W`` slice of each global batch, so the replicas together train on the
        same global batch as one device would. Clips are read lazily (``np.load`` per clip,
        no shuffle buffer), so memory does not grow with the data set unless ``cache``.

        Args:
            split: ``train``, ``validation`` or ``test``.
            global_batch_size: int, the batch of one optimizer step over all replicas;
                divisible by the replica count.
            element_fn: None, or ``f(clip, seeds) -> element``: ``clip`` float32
                ``(n_freq_bins, n_frames, 1)`` in [0, 1], ``seeds`` int64 ``(2, 2)`` two
                stateless-RNG seeds unique to the element (``tf.random.split`` of ``(seed, i)``);
                None gives the clip itself.
            seed: int seeding the order, crops and ``element_fn``.
            shuffle: permute each epoch (training); False: manifest order, first frames when cropping.
            start_step: int >= 0, the first step's index.
            crop_frames: None, or frames of a crop at a random (seeded) offset (``shuffle``)
                or at the start: batches are then ``(..., crop_frames, 1)``.
            input_context: a ``tf.distribute.InputContext`` or None (one pipeline, one replica).
            cache: keep every clip read in memory (fast for small data sets that fit in RAM).
            conditions: None, or an int array with one value per clip of the split (`paths`
                order), e.g. `label_indices`: ``element_fn`` is then called as
                ``f(clip, seeds, condition)``.
        Returns:
            An endless ``tf.data.Dataset`` of per-replica batches (``element_fn``'s structure).
        Raises:
            ParameterError: if the split is empty, ``crop_frames`` exceeds the clips' frames,
                or ``global_batch_size`` is not divisible by the replicas or input pipelines.
        """
        paths = self.paths(split)
        if not paths:
            raise ParameterError(f"Split has no clips. Received: split={split!r}")
        pipeline, per_pipeline, per_replica = _input_slices(global_batch_size, input_context)
        count = len(paths)
        condition_table = None if conditions is None else tf.constant(np.asarray(conditions))
        read = self._element_reader(paths, seed, shuffle, crop_frames, element_fn, condition_table, cache)
        if condition_table is not None and len(conditions) != count:
            raise ParameterError(f"conditions must hold one value per clip ({count}). Received: {len(conditions)} values")

        ds = tf.data.Dataset.range(2**62).flat_map(_epoch_elements(count, seed, shuffle))
        ds = ds.skip(int(start_step) * global_batch_size)
        ds = ds.batch(global_batch_size).map(  # this pipeline's slice of each global batch
            lambda i, c: (i[pipeline * per_pipeline : (pipeline + 1) * per_pipeline],
                          c[pipeline * per_pipeline : (pipeline + 1) * per_pipeline])
        ).unbatch()
        ds = ds.map(read, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF  # sliced above
        return ds.batch(per_replica, drop_remainder=True).prefetch(2).with_options(options)

    def _element_reader(self, paths, seed, shuffle, crop_frames, element_fn, condition_table, cache):
        """`stream`'s ``(element index, clip number) -> element``: the clip read, cropped, given to ``element_fn``."""
        table = tf.constant(paths)
        out_shape = self.clip_shape(crop_frames)
        full_shape = self.clip_shape()
        load = self._cached_load if cache else self.load_clip

        def read(index, clip_number):
            clip = tf.ensure_shape(tf.numpy_function(load, [tf.gather(table, clip_number)], tf.float32), full_shape)
            seeds = tf.random.split(tf.stack([tf.cast(seed, tf.int64), index]), num=3)
            if crop_frames is not None:
                if shuffle:
                    clip = tf.image.stateless_random_crop(clip, out_shape, seed=seeds[2])
                else:
                    clip = clip[:, :crop_frames]
            if element_fn is None:
                return clip
            if condition_table is None:
                return element_fn(clip, seeds[:2])
            return element_fn(clip, seeds[:2], tf.gather(condition_table, clip_number))

        return read

    def _cached_load(self, path):
        key = path.decode() if isinstance(path, bytes) else path
        if key not in self._cache:
            self._cache[key] = self.load_clip(key)
        return self._cache[key]


def _input_slices(global_batch_size, input_context):
    """``(pipeline, per_pipeline, per_replica)``: this input pipeline's index, its share of each global
    batch and the batch of one replica (`SpectrogramData.stream`).

    Raises:
        ParameterError: if ``global_batch_size`` is not divisible by the replicas or input pipelines.
    """
    pipelines = input_context.num_input_pipelines if input_context else 1
    pipeline = input_context.input_pipeline_id if input_context else 0
    replicas = input_context.num_replicas_in_sync if input_context else 1
    if global_batch_size % replicas or global_batch_size % pipelines:
        raise ParameterError(
            f"batch_size (the global batch) must be divisible by the {replicas} replicas. "
            f"Received: batch_size={global_batch_size}"
        )
    return pipeline, global_batch_size // pipelines, global_batch_size // replicas


def _epoch_elements(count, seed, shuffle):
    """``epoch -> Dataset of (element index, clip number)`` for the ``count`` clips of one epoch.

    Element indices run from ``epoch * count``; the clip order is a permutation seeded by
    ``(seed, epoch)`` (``shuffle``) or the manifest order.
    """

    def epoch_elements(epoch):
        order = tf.range(count, dtype=tf.int64)
        if shuffle:
            order = tf.random.experimental.stateless_shuffle(order, seed=tf.stack([tf.cast(seed, tf.int64), epoch]))
        indices = tf.data.Dataset.range(epoch * count, (epoch + 1) * count)
        return tf.data.Dataset.zip(indices, tf.data.Dataset.from_tensor_slices(order))

    return epoch_elements
