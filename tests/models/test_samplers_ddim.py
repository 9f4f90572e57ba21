"""models.samplers.ddim: the DDIM update (eta = 0 closed form, eta = 1 DDPM posterior), the sampling loop,
and the sampler against the loop DiffusionModel ran before the samplers were split out."""

import numpy as np
import pytest
from keras import ops

from common.errors import ParameterError
from models.noise_schedule import CosineNoiseSchedule, LinearBetaSchedule
from models.samplers import DDIMSampler, SeededNoise
from tests.models.diffusion_helpers import perturbed, tiny_model

SHAPE = (3, 4, 5, 1)


def consistent_state(schedule, t, t_next, seed=0):
    """x_0, eps, x_t = s_t x_0 + n_t eps, and the rates at t and t_next, as float64 numpy and the float32 rates."""
    rng = np.random.default_rng(seed)
    images, noises = rng.standard_normal((2,) + SHAPE)
    rates = schedule(np.full((SHAPE[0], 1, 1, 1), t, "float32"))
    next_rates = schedule(np.full((SHAPE[0], 1, 1, 1), t_next, "float32"))
    n, s = (np.asarray(r, "float64") for r in rates)
    noisy_images = s * images + n * noises
    return images, noises, noisy_images, rates, next_rates


def never_called():
    raise AssertionError("eta = 0 draws no step noise")


@pytest.mark.parametrize("schedule", [CosineNoiseSchedule(), LinearBetaSchedule()])
def test_eta_zero_is_the_closed_form_deterministic_update(schedule):
    images, noises, _, rates, next_rates = consistent_state(schedule, 0.7, 0.45)
    x0, eps = images.astype("float32"), noises.astype("float32")
    step = DDIMSampler(schedule, 10).step(eps, x0, rates, next_rates, never_called)
    next_n, next_s = (np.asarray(r, "float64") for r in next_rates)
    # Song et al. 2021, eq. 12 with sigma_t = 0: x_{t-1} = sqrt(alpha_{t-1}) x0_hat + sqrt(1 - alpha_{t-1}) eps_hat
    np.testing.assert_allclose(ops.convert_to_numpy(step), next_s * images + next_n * noises, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("t, t_next", [(0.9, 0.8), (0.5, 0.25), (0.2, 0.0)])
def test_eta_one_has_ddpm_posterior_mean_and_variance(t, t_next):
    schedule = CosineNoiseSchedule()
    images, noises, noisy_images, rates, next_rates = consistent_state(schedule, t, t_next)
    sampler = DDIMSampler(schedule, 10, eta=1.0)
    alpha_bar = np.asarray(rates[1], "float64") ** 2
    next_alpha_bar = np.asarray(next_rates[1], "float64") ** 2
    alpha, beta = alpha_bar / next_alpha_bar, 1.0 - alpha_bar / next_alpha_bar
    # Ho et al. 2020, eq. 7: beta-tilde_t and mu-tilde_t(x_t, x_0) of q(x_{t-1} | x_t, x_0)
    variance = (1.0 - next_alpha_bar) / (1.0 - alpha_bar) * beta
    mean = (np.sqrt(next_alpha_bar) * beta / (1.0 - alpha_bar) * images
            + np.sqrt(alpha) * (1.0 - next_alpha_bar) / (1.0 - alpha_bar) * noisy_images)
    np.testing.assert_allclose(ops.convert_to_numpy(sampler.sigmas(rates, next_rates)) ** 2, variance, rtol=1e-4)
    x0, eps = images.astype("float32"), noises.astype("float32")
    without_noise = ops.convert_to_numpy(sampler.step(eps, x0, rates, next_rates, lambda: np.zeros(SHAPE, "float32")))
    np.testing.assert_allclose(without_noise, mean, rtol=1e-4, atol=1e-5)
    z = np.random.default_rng(5).standard_normal(SHAPE).astype("float32")
    with_noise = ops.convert_to_numpy(sampler.step(eps, x0, rates, next_rates, lambda: z))
    np.testing.assert_allclose(with_noise - without_noise, np.sqrt(variance) * z, rtol=1e-4, atol=1e-5)


def test_sigma_grows_linearly_with_eta_and_is_zero_at_eta_zero():
    schedule = CosineNoiseSchedule()
    _, _, _, rates, next_rates = consistent_state(schedule, 0.6, 0.5)
    full = ops.convert_to_numpy(DDIMSampler(schedule, 3, eta=1.0).sigmas(rates, next_rates))
    assert (full > 0).all()
    np.testing.assert_allclose(ops.convert_to_numpy(DDIMSampler(schedule, 3, eta=0.25).sigmas(rates, next_rates)),
                               0.25 * full, rtol=1e-6)
    np.testing.assert_array_equal(ops.convert_to_numpy(DDIMSampler(schedule, 3).sigmas(rates, next_rates)), 0.0)


class RecordingDenoiser:
    """A linear eps-denoiser, ``eps_hat = 0.5 * x_t``, that records the noise rates it is called at."""

    def __init__(self):
        self.noise_rates = []

    def __call__(self, noisy_images, noise_rates, signal_rates):
        self.noise_rates.append(float(ops.convert_to_numpy(noise_rates)[0, 0, 0, 0]))
        pred_noises = 0.5 * noisy_images
        return pred_noises, (noisy_images - noise_rates * pred_noises) / signal_rates


@pytest.mark.parametrize("eta", [0.0, 0.5])
def test_sample_visits_the_grid_and_draws_noise_between_steps(eta):
    schedule = CosineNoiseSchedule()
    denoise, draws = RecordingDenoiser(), []

    def step_noise():
        draws.append(1)
        return np.zeros(SHAPE, "float32")

    x1 = np.random.default_rng(0).standard_normal(SHAPE).astype("float32")
    out = ops.convert_to_numpy(DDIMSampler(schedule, 4, eta).sample(denoise, x1, step_noise))
    expected_rates = ops.convert_to_numpy(schedule(np.array([1.0, 0.75, 0.5, 0.25], "float32"))[0])
    np.testing.assert_allclose(denoise.noise_rates, expected_rates, rtol=1e-6)
    assert len(draws) == (3 if eta else 0)  # no noise after the last step, whose remix is not used
    assert out.shape == SHAPE and np.isfinite(out).all()
    # one step: the denoiser's x0 estimate at t = 1
    n, s = (ops.convert_to_numpy(r) for r in schedule(np.ones((3, 1, 1, 1), "float32")))
    np.testing.assert_allclose(ops.convert_to_numpy(DDIMSampler(schedule, 1, eta).sample(RecordingDenoiser(), x1)),
                               (x1 - n * 0.5 * x1) / s, rtol=1e-6)


def test_stochastic_step_needs_step_noise():
    with pytest.raises(ParameterError, match="Received: eta=0.5, step_noise=None"):
        DDIMSampler(CosineNoiseSchedule(), 3, eta=0.5).sample(RecordingDenoiser(), np.zeros(SHAPE, "float32"))


@pytest.mark.parametrize("kwargs, message", [(dict(diffusion_steps=0), "diffusion_steps=0"),
                                             (dict(diffusion_steps=2, eta=1.5), "eta=1.5"),
                                             (dict(diffusion_steps=2, eta=-0.1), "eta=-0.1")])
def test_bad_arguments_name_the_value(kwargs, message):
    with pytest.raises(ParameterError, match=f"Received: {message}$"):
        DDIMSampler(CosineNoiseSchedule(), **kwargs)


def reference_generate(model, seeds, diffusion_steps, eta, batch_size):
    """`DiffusionModel.generate` and `reverse_diffusion` as written before the samplers (unconditional model)."""
    generators = [np.random.default_rng(int(s)) for s in seeds]
    noise = np.stack([g.standard_normal(model.data_shape).astype("float32") for g in generators])
    denoise = model.ema_denoiser()
    outputs = []
    for start in range(0, len(seeds), batch_size):
        batch_generators = generators[start : start + batch_size]

        def step_noise(batch_generators=batch_generators):
            return ops.convert_to_tensor(np.stack([g.standard_normal(model.data_shape).astype("float32")
                                                   for g in batch_generators]))

        next_noisy_images = pred_images = ops.convert_to_tensor(noise[start : start + batch_size])
        step_size = 1.0 / diffusion_steps
        for step in range(diffusion_steps):
            noisy_images = next_noisy_images
            diffusion_times = ops.ones((ops.shape(noisy_images)[0], 1, 1, 1)) - step * step_size
            noise_rates, signal_rates = model.schedule(diffusion_times)
            pred_noises, pred_images = denoise(noisy_images, noise_rates, signal_rates)
            next_noise_rates, next_signal_rates = model.schedule(diffusion_times - step_size)
            if eta == 0.0:
                next_noisy_images = next_signal_rates * pred_images + next_noise_rates * pred_noises
            elif step < diffusion_steps - 1:
                ratio = ops.maximum(1.0 - ops.square(signal_rates) / ops.square(next_signal_rates), 0.0)
                sigmas = eta * next_noise_rates / noise_rates * ops.sqrt(ratio)
                direction_rates = ops.sqrt(ops.maximum(ops.square(next_noise_rates) - ops.square(sigmas), 0.0))
                next_noisy_images = next_signal_rates * pred_images + direction_rates * pred_noises + sigmas * step_noise()
        outputs.append(ops.convert_to_numpy(model.destandardise(pred_images)))
    return np.concatenate(outputs, axis=0)


@pytest.mark.parametrize("eta", [0.0, 0.7, 1.0])
def test_sampler_equals_the_former_loop_bit_for_bit(eta):
    model = perturbed(tiny_model())
    expected = reference_generate(model, [5, 6, 7], 4, eta, batch_size=2)
    np.testing.assert_array_equal(model.generate(seeds=[5, 6, 7], diffusion_steps=4, eta=eta, batch_size=2), expected)
    # and the sampler called directly, as DiffusionModel.generate calls it
    noise = SeededNoise([5, 6], model.data_shape)
    direct = DDIMSampler(model.schedule, 4, eta).sample(model.ema_denoiser(), noise.draw(), noise.draw)
    np.testing.assert_array_equal(ops.convert_to_numpy(model.destandardise(direct)), expected[:2])
