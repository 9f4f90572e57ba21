"""Self-conditioning (Chen et al., "Analog Bits", 2023): the training draw, the network input, the stateful denoiser, the model."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from common.errors import ParameterError
from models.diffusion import DiffusionModel
from models.noise_schedule import CosineNoiseSchedule
from models.self_conditioning import SelfConditionedDenoiser, takes_previous_images, training_previous_images
from models.unet import build_unet
from tests.models.diffusion_helpers import blobs, perturbed
from train.config import DiffusionTrainConfig


def self_conditioned_model(seed=0, known_inputs=False, num_classes=None, **kwargs):
    keras.utils.set_random_seed(seed)
    network = build_unet((16, 16, 1), widths=(8, 16), block_depth=1, attention_levels=(), patch_size=2, embedding_dims=8,
                         block_type="film", known_inputs=known_inputs, num_classes=num_classes, self_conditioning=True)
    conditioning = "mask" if known_inputs else ("label" if num_classes else None)
    model = DiffusionModel(network, CosineNoiseSchedule(), data_mean=0.5, data_std=0.25, clip_range=(0.0, 1.0),
                           conditioning=conditioning, **kwargs)
    model.compile(optimizer=keras.optimizers.AdamW(1e-2))
    return model


def test_training_draw_keeps_about_the_probability_and_stops_the_gradient():
    estimates = tf.Variable(np.random.default_rng(0).standard_normal((400, 4, 4, 1)).astype("float32"))
    with tf.GradientTape() as tape:
        previous = training_previous_images(estimates, 0.5, keras.random.SeedGenerator(1))
        total = tf.reduce_sum(previous)
    previous = previous.numpy()
    kept = np.array([np.array_equal(p, e) for p, e in zip(previous, estimates.numpy())])
    zeroed = ~previous.reshape(400, -1).any(axis=1)
    assert np.all(kept ^ zeroed)  # every sample is either its estimate or zeros, whole
    assert 160 < kept.sum() < 240
    assert tape.gradient(total, estimates) is None
    assert not training_previous_images(estimates, 0.0, keras.random.SeedGenerator(1)).numpy().any()


def test_network_input_is_last_and_starts_without_effect():
    model = self_conditioned_model()
    network = model.network
    assert [i.name for i in network.inputs][-1] == "previous_images" and takes_previous_images(network)
    assert model.self_conditioning
    rng = np.random.default_rng(0)
    x, previous = (rng.standard_normal((2, 16, 16, 1)).astype("float32") for _ in range(2))
    variances = np.full((2, 1, 1, 1), 0.5, "float32")
    # the zero-initialised stem: any previous estimate gives the network without it
    np.testing.assert_array_equal(network([x, variances, previous]).numpy(), network([x, variances, 0 * previous]).numpy())
    plain = build_unet((16, 16, 1), widths=(8, 16), block_depth=1, attention_levels=(), patch_size=2, embedding_dims=8)
    assert not takes_previous_images(plain)


def test_denoiser_feeds_each_estimate_to_the_next_call():
    calls = []

    def compiled(x, n, s, previous, *conditions):
        calls.append((previous.numpy().copy(), conditions))
        return x * 0, x + 1.0

    denoise = SelfConditionedDenoiser(compiled, ("c",))
    x = tf.ones((2, 3, 3, 1))
    rates = tf.ones((2, 1, 1, 1))
    denoise(x, rates, rates)
    denoise(2 * x, rates, rates)
    assert not calls[0][0].any() and calls[0][1] == ("c",)
    np.testing.assert_array_equal(calls[1][0], np.full((2, 3, 3, 1), 2.0))  # the first call's estimate, x + 1


def test_sampling_uses_the_estimates_and_each_run_starts_afresh():
    model = perturbed(self_conditioned_model())  # the perturbation makes the stem non-zero
    first = model.generate(seeds=[0, 1], diffusion_steps=4)
    np.testing.assert_array_equal(model.generate(seeds=[0, 1], diffusion_steps=4), first)  # no state left behind
    one_step = model.generate(seeds=[0, 1], diffusion_steps=1)
    stem = model.ema_network.get_layer("self_condition_stem")
    weights = stem.get_weights()
    stem.set_weights([0 * w for w in weights])
    without = model.generate(seeds=[0, 1], diffusion_steps=4)
    np.testing.assert_allclose(model.generate(seeds=[0, 1], diffusion_steps=1), one_step, atol=1e-6)  # zeros at step 1
    stem.set_weights(weights)
    assert np.abs(first - without).max() > 1e-3  # from step 2 on, the previous estimate changes the samples


def test_training_step_trains_the_self_condition_stem_and_validates():
    model = self_conditioned_model()
    model.fit(blobs(32), batch_size=8, epochs=2, verbose=0)
    assert np.abs(model.network.get_layer("self_condition_stem").get_weights()[0]).max() > 0
    logs = model.evaluate(blobs(8), batch_size=8, verbose=0, return_dict=True)
    assert np.isfinite(logs["n_loss"])


def test_mask_and_label_models_with_self_conditioning_sample():
    mask_model = perturbed(self_conditioned_model(known_inputs=True))
    known = blobs(2)
    mask = np.zeros_like(known)
    mask[:, :, :8] = 1.0
    filled = mask_model.inpaint(known, mask, diffusion_steps=3, seeds=[0, 1], resample=2)
    np.testing.assert_array_equal(filled[mask > 0], known[mask > 0])
    label_model = perturbed(self_conditioned_model(num_classes=2))
    guided = label_model.generate(seeds=[0, 1], diffusion_steps=3, labels=1, guidance_scale=3.0)
    assert guided.shape == (2, 16, 16, 1) and np.isfinite(guided).all()


def test_config_refuses_a_self_conditioning_that_is_not_a_bool():
    assert DiffusionTrainConfig(self_conditioning=True).self_conditioning
    with pytest.raises(ParameterError, match=r"self_conditioning must be true or false. Received: self_conditioning='yes'"):
        DiffusionTrainConfig(self_conditioning="yes")
