"""CPU smoke tests of the issue-5 switches of both training CLIs on the tiny dataset.

Each switch trains a tiny model for a few steps and checks its effect: the
learning-rate column and its warm-up, clipping bounding the update, the
mixed-precision policy applied (and restored), the cropped input shape, the
TensorBoard event files; bad values exit 2 naming the key.
"""

import csv

import keras
import numpy as np
import pytest

from common.config import load_config
from conftest import TINY_MODELS, set_args
from train import autoencoder as train_autoencoder
from train import diffusion as train_diffusion
from train.config import DiffusionTrainConfig


def _ddim_argv(tiny_dataset, run, *extra):
    return set_args([f"data_dir={tiny_dataset}", f"run_dir={run}", "epochs=1", "steps_per_epoch=2",
                     "validation_batches=0", "sampling_steps=2"] + TINY_MODELS["ddim"] + list(extra))


def _history(run):
    with open(run / "history.csv") as f:
        return list(csv.DictReader(f))


def test_learning_rate_column_follows_warmup_then_cosine(tiny_dataset, tmp_path):
    run = tmp_path / "ddim"
    argv = _ddim_argv(tiny_dataset, run, "epochs=3", "learning_rate_schedule=cosine", "warmup_steps=4",
                      "learning_rate=0.001", "min_learning_rate=0.0001")
    assert train_diffusion.main(argv) == 0
    rates = [float(row["learning_rate"]) for row in _history(run)]
    # optimizer steps 2, 4, 6: half-way up the warm-up, its top, then cosine decay over the last 2 steps to the floor
    assert rates == pytest.approx([5e-4, 1e-3, 1e-4], rel=1e-4)


def _one_step_change(tiny_dataset, **overrides):
    values = dict(data_dir=str(tiny_dataset), widths=[8, 16], attention_levels=[], embedding_dims=8,
                  batch_size=4, weight_decay=0.0, learning_rate=0.01, **overrides)
    config = load_config(DiffusionTrainConfig, None, values)
    keras.utils.set_random_seed(0)
    model = train_diffusion.build_model(config, (128, 128, 1), 0.5, 0.2)
    before = [w.numpy().copy() for w in model.network.trainable_weights]
    model.fit(np.random.default_rng(0).random((4, 128, 128, 1), dtype=np.float32), epochs=1, batch_size=4, verbose=0)
    return max(float(np.abs(w.numpy() - b).max()) for w, b in zip(model.network.trainable_weights, before))


def test_gradient_clipping_bounds_the_update(tiny_dataset):
    # Adam's step is about learning_rate per weight; clipped to a norm far below its epsilon it all but vanishes
    assert _one_step_change(tiny_dataset) > 1e-3
    assert _one_step_change(tiny_dataset, gradient_clip_norm=1e-12) < 1e-4


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_policy_applied_and_weights_finite(tiny_dataset, policy):
    config = load_config(DiffusionTrainConfig, None, dict(
        data_dir=str(tiny_dataset), widths=[8, 16], attention_levels=[], embedding_dims=8, batch_size=4,
        mixed_precision=policy, jit_compile=False))
    from train.options import precision_policy

    with precision_policy(config):
        model = train_diffusion.build_model(config, (128, 128, 1), 0.5, 0.2)
    assert keras.mixed_precision.global_policy().name == "float32"  # restored after building
    assert model.network.get_layer("patch_stem").dtype_policy.name == policy
    assert model.network.outputs[0].dtype == "float32"
    model.fit(np.random.default_rng(0).random((8, 128, 128, 1), dtype=np.float32), epochs=1, batch_size=4, verbose=0)
    assert all(w.dtype == "float32" and np.isfinite(w.numpy()).all() for w in model.network.weights)


def test_mixed_float16_scales_the_loss(tiny_dataset, monkeypatch):
    config = load_config(DiffusionTrainConfig, None, dict(
        data_dir=str(tiny_dataset), widths=[8, 16], attention_levels=[], embedding_dims=8, batch_size=4,
        mixed_precision="mixed_float16", jit_compile=False))
    from train.options import precision_policy

    with precision_policy(config):
        model = train_diffusion.build_model(config, (128, 128, 1), 0.5, 0.2)
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    scaled = []
    original = model.optimizer.scale_loss
    monkeypatch.setattr(model.optimizer, "scale_loss", lambda loss: scaled.append(1) or original(loss))
    batch = np.random.default_rng(0).random((4, 128, 128, 1), dtype=np.float32)
    model.train_step(batch)
    assert scaled  # the train step multiplied its loss by the dynamic loss scale
    assert float(model.optimizer.dynamic_scale.numpy()) > 1.0
    assert int(model.optimizer.iterations.numpy()) == 1  # finite scaled gradients: the step was applied


def test_random_time_crop_gives_the_smaller_input(tiny_dataset, tmp_path):
    run = tmp_path / "ae"
    argv = set_args([f"data_dir={tiny_dataset}", f"run_dir={run}", "epochs=1", "steps_per_epoch=2",
                     "validation_batches=1", "random_time_crop=64", "learning_rate=0.002"] + TINY_MODELS["autoencoder"])
    assert train_autoencoder.main(argv) == 0
    assert float(_history(run)[0]["learning_rate"]) == pytest.approx(0.002)  # the default constant rate is logged too
    model = keras.saving.load_model(run / "autoencoder.keras", safe_mode=True)
    assert model.input_shape == (None, 128, 64, 1)


def test_tensorboard_writes_events_and_samples(tiny_dataset, tmp_path):
    pytest.importorskip("tensorboard")
    run = tmp_path / "ddim"
    assert train_diffusion.main(_ddim_argv(tiny_dataset, run, "tensorboard=true", "random_time_crop=32")) == 0
    assert list((run / "tensorboard" / "train").glob("events.out.tfevents.*"))
    sample_events = list((run / "tensorboard" / "samples").glob("events.out.tfevents.*"))
    assert sample_events
    from tensorflow.core.util import event_pb2
    import tensorflow as tf

    tags = {value.tag for record in tf.data.TFRecordDataset([str(p) for p in sample_events])
            for value in event_pb2.Event.FromString(record.numpy()).summary.value}
    assert {"generated_spectrograms", "generated_audio"} <= tags
    assert (run / "network.keras").is_file()


@pytest.mark.parametrize(
    "pair, key",
    [
        ("learning_rate_schedule=step", "learning_rate_schedule"),
        ("warmup_steps=-1", "warmup_steps"),
        ("gradient_clip_norm=0", "gradient_clip_norm"),
        ("mixed_precision=float8", "float8"),
        ("jit_compile=maybe", "jit_compile"),
        ("random_time_crop=30", "random_time_crop"),
        ("random_time_crop=256", "random_time_crop"),
        ("dropout=1.5", "dropout=1.5"),
    ],
)
def test_bad_values_exit_2_naming_the_key(tiny_dataset, tmp_path, capsys, pair, key):
    assert train_diffusion.main(_ddim_argv(tiny_dataset, tmp_path / "r", pair)) == 2
    assert key in capsys.readouterr().err
