"""`SpectrogramData.stream`: step-indexed, sliced per input pipeline, lazy (issue 5)."""

import numpy as np
import tensorflow as tf

from benchmarks.scale import replicate_dataset
from models.training_draws import forward_draws
from train.data import SpectrogramData


def _batches(ds, count):
    return [tf.nest.map_structure(lambda t: t.numpy(), batch) for batch in ds.take(count)]


def test_batch_k_depends_only_on_seed_and_k(tiny_dataset):
    data = SpectrogramData(tiny_dataset)
    whole = _batches(data.stream("train", 4, forward_draws, seed=3), 6)
    resumed = _batches(data.stream("train", 4, forward_draws, seed=3, start_step=4), 2)
    for a, b in zip(whole[4:], resumed):
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)  # same clips, same noise, same times
    other_seed = _batches(data.stream("train", 4, forward_draws, seed=4), 1)
    assert not np.array_equal(other_seed[0][1], whole[0][1])
    # an epoch is a permutation: each training clip once in the first n elements
    n = len(data.paths("train"))
    clips = np.concatenate([b for b in _batches(data.stream("train", 1, None, seed=0), n)])
    assert len({c.tobytes() for c in clips}) == len({c.tobytes() for c in data.load_split("train")})


class _Context:
    """The fields of a ``tf.distribute.InputContext`` that `stream` reads."""

    def __init__(self, pipelines, pipeline, replicas):
        self.num_input_pipelines, self.input_pipeline_id, self.num_replicas_in_sync = pipelines, pipeline, replicas


def test_pipelines_together_give_the_global_batch(tiny_dataset):
    data = SpectrogramData(tiny_dataset)
    single = _batches(data.stream("train", 4, forward_draws, seed=1), 3)
    halves = [_batches(data.stream("train", 4, forward_draws, seed=1, input_context=_Context(2, w, 2)), 3)
              for w in range(2)]
    for step in range(3):
        for part in range(3):  # image, noise, time
            joined = np.concatenate([halves[0][step][part], halves[1][step][part]])
            np.testing.assert_array_equal(joined, single[step][part])


def test_clips_are_read_lazily_whatever_the_data_set_size(tiny_dataset, tmp_path):
    replicate_dataset(tiny_dataset, tmp_path / "x16", 16)
    data = SpectrogramData(tmp_path / "x16")
    reads = []
    original = data.load_clip
    data.load_clip = lambda path: reads.append(path) or original(path)
    _batches(data.stream("train", 4, None, seed=0), 2)
    assert len(data.paths("train")) >= 100
    assert len(reads) <= 40  # two batches of 4 and what the prefetch took ahead, not the data set
