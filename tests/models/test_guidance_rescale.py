"""Guidance rescale (Lin et al. 2024, eq. 15-16): models.diffusion.rescale_guidance and its use in sampling."""

import keras
import numpy as np
import pytest
from keras import ops

from common.errors import ParameterError
from models.conditioning import check_guidance_rescale, rescale_guidance
from models.unet import build_unet
from models.diffusion import DiffusionModel
from models.noise_schedule import CosineNoiseSchedule
from tests.models.diffusion_helpers import perturbed


def test_rescale_pulls_the_spread_back_to_the_conditional_outputs():
    rng = np.random.default_rng(0)
    conditional = rng.standard_normal((3, 8, 4, 1)).astype("float32")
    guided = 4.0 * conditional + 0.5 * rng.standard_normal((3, 8, 4, 1)).astype("float32")  # strong guidance inflates
    np.testing.assert_allclose(ops.convert_to_numpy(rescale_guidance(guided, conditional, 0.0)), guided, rtol=1e-6)
    full = ops.convert_to_numpy(rescale_guidance(guided, conditional, 1.0))
    np.testing.assert_allclose(full.std(axis=(1, 2, 3)), conditional.std(axis=(1, 2, 3)), rtol=1e-4)
    half = ops.convert_to_numpy(rescale_guidance(guided, conditional, 0.5))
    np.testing.assert_allclose(half, 0.5 * full + 0.5 * guided, rtol=1e-5, atol=1e-5)  # eq. 16


def label_model():
    keras.utils.set_random_seed(1)  # the initial weights: some draws saturate every sample at the clip range
    network = build_unet((16, 16, 1), widths=(8, 16), block_depth=1, attention_levels=(), patch_size=2,
                         embedding_dims=8, num_classes=2)
    model = DiffusionModel(network, CosineNoiseSchedule(), data_mean=0.5, data_std=0.25, clip_range=(0.0, 1.0),
                           class_names=["a", "b"])
    return perturbed(model, 0.2)


def test_sampling_with_rescale_differs_only_when_guided():
    model = label_model()
    plain = model.generate(seeds=[0, 1], diffusion_steps=3, labels="a", guidance_scale=4.0)
    rescaled = model.generate(seeds=[0, 1], diffusion_steps=3, labels="a", guidance_scale=4.0, guidance_rescale=0.7)
    assert np.abs(plain - rescaled).max() > 1e-4
    unguided = model.generate(seeds=[0, 1], diffusion_steps=3, labels="a", guidance_scale=1.0)
    unguided_rescaled = model.generate(seeds=[0, 1], diffusion_steps=3, labels="a", guidance_scale=1.0, guidance_rescale=0.7)
    np.testing.assert_allclose(unguided_rescaled, unguided, atol=1e-6)  # no guidance: nothing to rescale


@pytest.mark.parametrize("value", [-0.1, 1.5, float("nan"), True, "0.5"])
def test_bad_guidance_rescale_is_refused(value):
    with pytest.raises(ParameterError, match="guidance_rescale"):
        check_guidance_rescale(value)


def test_clip_sample_keeps_every_x0_estimate_in_the_data_range_and_eps_consistent():
    model = label_model()
    low, high = model._standardised_clip_range()
    rng = np.random.default_rng(3)
    x = (5.0 * rng.standard_normal((2, 16, 16, 1))).astype("float32")  # far outside the data
    n = np.full((2, 1, 1, 1), 0.8, "float32")
    s = np.sqrt(1 - n**2).astype("float32")
    labels = np.array([0, 1], "int32")
    raw_eps, raw_x0 = (ops.convert_to_numpy(v) for v in model.ema_denoiser(labels, 4.0)(x, n, s))
    eps, x0 = (ops.convert_to_numpy(v) for v in model.ema_denoiser(labels, 4.0, clip_sample=True)(x, n, s))
    assert raw_x0.min() < low or raw_x0.max() > high  # the unclipped estimate leaves the range here
    assert x0.min() >= low - 1e-6 and x0.max() <= high + 1e-6
    np.testing.assert_allclose(eps, (x - s * x0) / n, rtol=1e-5, atol=1e-5)
    inside = (raw_x0 > low) & (raw_x0 < high)
    np.testing.assert_allclose(x0[inside], raw_x0[inside], rtol=1e-6)  # estimates in range are unchanged
    assert model.generate(seeds=[0], diffusion_steps=2, labels="a", guidance_scale=4.0, clip_sample=True).shape == (1, 16, 16, 1)


def test_clip_sample_needs_a_data_range():
    model = label_model()
    model.clip_range = None  # a latent model's data have no bounds
    with pytest.raises(ParameterError, match="clip_sample"):
        model.ema_denoiser(clip_sample=True)
