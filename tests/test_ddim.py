"""The DDIM task: training steps, EMA, sampling determinism, save and reload."""

import numpy as np
import pytest
import tensorflow as tf
import keras

from common.errors import ParameterError
from models.ddim import DiffusionModel, load_sampler, save_sampler
from models.noise_schedule import CosineNoiseSchedule
from models.unet import build_unet


def tiny_model(**kwargs):
    network = build_unet((16, 16, 1), widths=(8, 16), block_depth=1, attention_levels=(), patch_size=2, embedding_dims=8)
    model = DiffusionModel(network, CosineNoiseSchedule(), data_mean=0.5, data_std=0.25, clip_range=(0.0, 1.0), **kwargs)
    model.compile(optimizer=keras.optimizers.AdamW(1e-3))
    return model


def blobs(n=32):
    rng = np.random.default_rng(0)
    images = np.zeros((n, 16, 16, 1), "float32")
    for i in range(n):
        row = rng.integers(2, 14)
        images[i, row - 1 : row + 1, :, 0] = 1.0  # a horizontal "harmonic" line
    return images


def test_training_lowers_loss_and_moves_ema():
    model = tiny_model(ema_momentum=0.9)
    ds = tf.data.Dataset.from_tensor_slices(blobs()).batch(8).repeat()
    ema_before = [w.copy() for w in model.ema_network.get_weights()]
    history = model.fit(ds, steps_per_epoch=20, epochs=3, verbose=0)
    losses = history.history["n_loss"]
    assert losses[-1] < losses[0]
    moved = [not np.allclose(a, b) for a, b in zip(ema_before, model.ema_network.get_weights())]
    assert any(moved)
    # EMA weights lag the trained ones
    assert not all(np.allclose(a, b) for a, b in zip(model.network.get_weights(), model.ema_network.get_weights()))


def test_generate_is_reproducible_per_seed_and_clipped():
    model = tiny_model()
    both = model.generate(seeds=[3, 4], diffusion_steps=3)
    alone = model.generate(seeds=[4], diffusion_steps=3)
    assert both.shape == (2, 16, 16, 1)
    np.testing.assert_allclose(both[1], alone[0], atol=1e-5)
    assert not np.allclose(both[0], both[1])
    assert both.min() >= 0.0 and both.max() <= 1.0


def test_generate_bad_arguments():
    model = tiny_model()
    with pytest.raises(ParameterError, match="diffusion_steps"):
        model.generate(num_images=1, diffusion_steps=0)
    with pytest.raises(ParameterError, match="num_images"):
        model.generate(num_images=0)


@pytest.mark.parametrize(
    "kwargs, message", [(dict(loss_type="l3"), "loss_type"), (dict(data_std=0.0), "data_std"), (dict(ema_momentum=1.0), "ema_momentum")]
)
def test_bad_constructor_arguments(kwargs, message):
    network = build_unet((16, 16, 1), widths=(8,), block_depth=1, attention_levels=(), patch_size=2, embedding_dims=8)
    with pytest.raises(ParameterError, match=message):
        DiffusionModel(network, **kwargs)


def test_save_sampler_round_trip(tmp_path):
    model = tiny_model()
    ds = tf.data.Dataset.from_tensor_slices(blobs()).batch(8).repeat()
    model.fit(ds, steps_per_epoch=3, epochs=1, verbose=0)
    expected = model.generate(seeds=[7], diffusion_steps=4)
    save_sampler(model, tmp_path / "run")
    reloaded = load_sampler(tmp_path / "run")
    np.testing.assert_allclose(reloaded.generate(seeds=[7], diffusion_steps=4), expected, atol=1e-5)
    assert reloaded.data_std == pytest.approx(0.25)
    assert reloaded.clip_range == (0.0, 1.0)


def test_full_model_keras_round_trip(tmp_path):
    model = tiny_model()
    model.save(tmp_path / "ddim.keras")
    reloaded = keras.saving.load_model(tmp_path / "ddim.keras", compile=False)
    assert isinstance(reloaded, DiffusionModel)
    np.testing.assert_allclose(reloaded.generate(seeds=[1], diffusion_steps=2), model.generate(seeds=[1], diffusion_steps=2), atol=1e-5)


def test_load_sampler_missing_files(tmp_path):
    with pytest.raises(ParameterError, match="network.keras"):
        load_sampler(tmp_path)
