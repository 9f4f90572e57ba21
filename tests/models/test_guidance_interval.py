"""Guidance in a limited interval (Kynkäänniemi et al. 2024): the selection, its use in sampling, config and CLI."""

import numpy as np
import pytest
from keras import ops

from common.errors import ParameterError
from models.conditioning import check_guidance_interval, limit_guidance_to_interval
from tests.models.test_guidance_rescale import label_model
from train.config import DiffusionTrainConfig


def test_guided_output_only_where_the_noise_level_is_in_the_interval():
    rng = np.random.default_rng(0)
    guided = rng.standard_normal((4, 8, 4, 1)).astype("float32")
    conditional = rng.standard_normal((4, 8, 4, 1)).astype("float32")
    signal_rates = np.full((4, 1, 1, 1), 0.5, "float32")
    # noise-to-signal ratios 0.2, 1.0, 4.0 (the upper bound: inside) and 8.0
    noise_rates = np.array([0.1, 0.5, 2.0, 4.0], "float32").reshape(4, 1, 1, 1)
    out = ops.convert_to_numpy(limit_guidance_to_interval(guided, conditional, (0.5, 4.0), noise_rates, signal_rates))
    for i, inside in enumerate([False, True, True, False]):
        np.testing.assert_array_equal(out[i], guided[i] if inside else conditional[i])


@pytest.mark.parametrize("value", [[1.0], [2.0, 1.0], [1.0, 1.0], [-0.5, 2.0], [float("nan"), 1.0], [True, 2.0],
                                   "0.5 10", 5.0, [0.5, "10"]])
def test_bad_guidance_interval_is_refused_naming_it(value):
    with pytest.raises(ParameterError, match="guidance_interval"):
        check_guidance_interval(value)


def test_good_guidance_intervals_come_back_as_floats():
    assert check_guidance_interval(None) is None
    assert check_guidance_interval([0, 10]) == (0.0, 10.0)
    assert check_guidance_interval((0.5, float("inf"))) == (0.5, float("inf"))


def test_sampling_guides_only_inside_the_interval():
    model = label_model()
    seeds, steps = [0, 1], 3
    kwargs = dict(seeds=seeds, diffusion_steps=steps, labels="a", guidance_scale=4.0)
    guided = model.generate(**kwargs)
    conditional = model.generate(seeds=seeds, diffusion_steps=steps, labels="a", guidance_scale=1.0)
    # an interval holding every step's noise level is plain guidance, one holding none is no guidance
    np.testing.assert_allclose(model.generate(**kwargs, guidance_interval=(0.0, float("inf"))), guided, atol=1e-6)
    np.testing.assert_allclose(model.generate(**kwargs, guidance_interval=(1e6, 1e7)), conditional, atol=1e-6)
    assert np.abs(guided - conditional).max() > 1e-4  # so the two checks above could fail
    with pytest.raises(ParameterError, match="guidance_interval"):
        model.generate(**kwargs, guidance_interval=(3.0, 1.0))


def test_the_denoiser_is_guided_at_noise_levels_inside_and_conditional_outside():
    model = label_model()
    x = np.random.default_rng(2).standard_normal((2, 16, 16, 1)).astype("float32")
    labels = np.array([0, 1], "int32")
    for noise_rate, inside in [(0.3, False), (0.8, True), (0.9999, False)]:  # ratios 0.31, 1.33, 70.7
        n = np.full((2, 1, 1, 1), noise_rate, "float32")
        s = np.sqrt(1 - n**2).astype("float32")
        guided, conditional, limited = (
            ops.convert_to_numpy(model.ema_denoiser(labels, scale, guidance_interval=interval)(x, n, s)[1])
            for scale, interval in [(4.0, None), (1.0, None), (4.0, (0.5, 10.0))])
        assert np.abs(guided - conditional).max() > 1e-3
        np.testing.assert_allclose(limited, guided if inside else conditional, atol=1e-5)


def test_guidance_scale_zero_with_an_interval_is_conditional_outside_it():
    model = label_model()
    kwargs = dict(seeds=[0], diffusion_steps=2, labels="b")
    conditional = model.generate(**kwargs, guidance_scale=1.0)
    outside = model.generate(**kwargs, guidance_scale=0.0, guidance_interval=(1e6, 1e7))
    np.testing.assert_allclose(outside, conditional, atol=1e-6)


def test_config_checks_and_loads_the_interval():
    assert DiffusionTrainConfig(guidance_interval=(0.5, 10.0)).guidance_interval == (0.5, 10.0)
    assert DiffusionTrainConfig().guidance_interval is None
    with pytest.raises(ParameterError, match=r"guidance_interval.*Received: guidance_interval=\(10.0, 0.5\)"):
        DiffusionTrainConfig(guidance_interval=(10.0, 0.5))

