"""models.samplers.inversion: DDIM inversion, its round trip through sampling, and DiffusionModel.invert_to_noise."""

import numpy as np
import pytest
from keras import ops

from common.errors import ParameterError
from models.noise_schedule import CosineNoiseSchedule
from models.samplers import DDIMInversion, DDIMSampler, SeededNoise
from tests.models.diffusion_helpers import perturbed, tiny_model


class RecordingDenoiser:
    """A linear eps-denoiser, ``eps_hat = 0.5 * x_t``, that records the noise rates it is called at."""

    def __init__(self):
        self.noise_rates = []

    def __call__(self, noisy_images, noise_rates, signal_rates):
        self.noise_rates.append(float(ops.convert_to_numpy(noise_rates)[0, 0, 0, 0]))
        pred_noises = 0.5 * noisy_images
        return pred_noises, (noisy_images - noise_rates * pred_noises) / signal_rates


def test_inversion_runs_the_deterministic_update_forward_in_time():
    schedule = CosineNoiseSchedule()
    images = np.random.default_rng(0).standard_normal((2, 3, 4, 1)).astype("float32")
    denoise = RecordingDenoiser()
    noise = ops.convert_to_numpy(DDIMInversion(schedule, 4).sample(denoise, images))
    expected_rates = ops.convert_to_numpy(schedule(np.array([0.0, 0.25, 0.5, 0.75], "float32"))[0])
    np.testing.assert_allclose(denoise.noise_rates, expected_rates, rtol=1e-6)
    # by hand: x_{t+h} = s_{t+h} x0_hat + n_{t+h} eps_hat, in float64
    expected = images.astype("float64")
    for t in (0.0, 0.25, 0.5, 0.75):
        n, s = (float(ops.convert_to_numpy(r)) for r in schedule(np.float32(t)))
        next_n, next_s = (float(ops.convert_to_numpy(r)) for r in schedule(np.float32(t + 0.25)))
        eps = 0.5 * expected
        expected = next_s * (expected - n * eps) / s + next_n * eps
    np.testing.assert_allclose(noise, expected, rtol=1e-5)


def test_inversion_then_sampling_reconstructs_the_data():
    """On a tiny (perturbed, untrained) network, in the standardised scale: noise -> sample -> noise -> sample.

    With 50 steps both round trips are within 2 % (relative squared error); with 10 steps the same
    network is off by about 80 %, so the bound says something about the number of steps.
    """
    model = perturbed(tiny_model())
    denoise = model.ema_denoiser()
    original = SeededNoise([0, 1], model.data_shape).draw()
    sample = DDIMSampler(model.schedule, 50).sample(denoise, original)
    noise = DDIMInversion(model.schedule, 50).sample(denoise, sample)
    again = DDIMSampler(model.schedule, 50).sample(denoise, noise)
    original, sample, noise, again = (ops.convert_to_numpy(x) for x in (original, sample, noise, again))
    assert np.mean((noise - original) ** 2) < 0.02 * np.var(original)
    error = np.mean((again - sample) ** 2)
    assert error < 0.02 * np.var(sample)
    # not trivially so: the other sample's noise gives something else
    other = ops.convert_to_numpy(DDIMSampler(model.schedule, 50).sample(denoise, noise[::-1]))
    assert np.mean((other - sample) ** 2) > 10 * error


def reference_invert(model, images, diffusion_steps):
    """`DiffusionModel.invert_to_noise` as written before the samplers."""
    denoise = model.ema_denoiser()
    noisy_images = model.standardise(ops.convert_to_tensor(images))
    step_size = 1.0 / diffusion_steps
    ones = ops.ones((images.shape[0], 1, 1, 1))
    for step in range(diffusion_steps):
        diffusion_times = ones * (step * step_size)
        noise_rates, signal_rates = model.schedule(diffusion_times)
        pred_noises, pred_images = denoise(noisy_images, noise_rates, signal_rates)
        next_noise_rates, next_signal_rates = model.schedule(diffusion_times + step_size)
        noisy_images = next_signal_rates * pred_images + next_noise_rates * pred_noises
    return ops.convert_to_numpy(noisy_images)


def test_model_inversion_equals_the_former_loop_and_checks_its_input():
    model = perturbed(tiny_model())
    images = np.random.default_rng(3).uniform(size=(2, 16, 16, 1)).astype("float32")
    noise = model.invert_to_noise(images, diffusion_steps=3)
    assert noise.shape == images.shape and noise.dtype == np.float32
    np.testing.assert_array_equal(noise, reference_invert(model, images, 3))
    with pytest.raises(ParameterError, match=r"Received: images.shape=\(2, 16, 16\)"):
        model.invert_to_noise(images[..., 0], diffusion_steps=3)
    with pytest.raises(ParameterError, match="Received: diffusion_steps=0$"):
        model.invert_to_noise(images, diffusion_steps=0)
    with pytest.raises(ParameterError, match="Received: diffusion_steps=0$"):
        DDIMInversion(model.schedule, 0)
