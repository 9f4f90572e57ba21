"""models.samplers.dpm_solver: DPM-Solver++(2M) against DDIM and against the ODE's solution."""

import numpy as np
import pytest
from keras import ops

from common.errors import ParameterError
from models.noise_schedule import CosineNoiseSchedule
from models.samplers import SAMPLERS, DDIMSampler, DPMSolverPlusPlus2MSampler, build_sampler

SHAPE = (4, 3, 2, 1)
VARIANCE = 0.3  # data ~ N(0, VARIANCE * I)


def gaussian_denoiser(noisy_images, noise_rates, signal_rates):
    """The exact posterior mean for Gaussian data: x0_hat = s v x_t / (s**2 v + n**2), and eps_hat from it."""
    pred_images = signal_rates * VARIANCE * noisy_images / (ops.square(signal_rates) * VARIANCE + ops.square(noise_rates))
    pred_noises = (noisy_images - signal_rates * pred_images) / noise_rates
    return pred_noises, pred_images


def initial_noise(seed=0):
    return ops.convert_to_tensor(np.random.default_rng(seed).standard_normal(SHAPE).astype("float32"))


def test_its_first_step_is_the_ddim_step():
    schedule = CosineNoiseSchedule()
    x = initial_noise()
    rates = schedule(ops.ones((SHAPE[0], 1, 1, 1)))
    next_rates = schedule(ops.ones((SHAPE[0], 1, 1, 1)) * 0.9)
    pred_noises, pred_images = gaussian_denoiser(x, *rates)
    ddim = DDIMSampler(schedule, 10).step(pred_noises, pred_images, rates, next_rates)
    dpm = DPMSolverPlusPlus2MSampler(schedule, 10).step(x, pred_images, None, rates, next_rates)
    np.testing.assert_allclose(ops.convert_to_numpy(dpm), ops.convert_to_numpy(ddim), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("steps", [5, 10])
def test_it_is_closer_to_the_ode_solution_than_ddim_in_as_many_steps(steps):
    """Both integrate the probability-flow ODE from t = 1 to the last grid time 1 / steps and return the data
    prediction there; 2000 small DDIM steps over the same span stand for the ODE's solution."""
    schedule = CosineNoiseSchedule()
    x = initial_noise(1)
    fine, end = DDIMSampler(schedule, 2000), 1.0 / steps
    ones = ops.ones((SHAPE[0], 1, 1, 1))
    times = np.linspace(1.0, end, 2001)
    solution = x
    for t, t_next in zip(times[:-1], times[1:]):
        rates, next_rates = schedule(ones * t), schedule(ones * t_next)
        solution = fine.step(*gaussian_denoiser(solution, *rates), rates, next_rates)
    reference = ops.convert_to_numpy(gaussian_denoiser(solution, *schedule(ones * end))[1])
    ddim_error = np.abs(ops.convert_to_numpy(DDIMSampler(schedule, steps).sample(gaussian_denoiser, x)) - reference).max()
    dpm = ops.convert_to_numpy(DPMSolverPlusPlus2MSampler(schedule, steps).sample(gaussian_denoiser, x))
    dpm_error = np.abs(dpm - reference).max()
    assert dpm_error < 0.6 * ddim_error, (dpm_error, ddim_error)  # measured: 0.48x at 5 steps


def test_build_sampler_by_name_and_its_errors():
    schedule = CosineNoiseSchedule()
    assert SAMPLERS == ("ddim", "dpm++2m")
    assert isinstance(build_sampler("dpm++2m", schedule, 7), DPMSolverPlusPlus2MSampler)
    assert build_sampler("ddim", schedule, 7, eta=0.5).eta == 0.5
    with pytest.raises(ParameterError, match="Received: sampler='euler'"):
        build_sampler("euler", schedule, 7)
    with pytest.raises(ParameterError, match="deterministic.*Received: eta=0.5"):
        build_sampler("dpm++2m", schedule, 7, eta=0.5)
    with pytest.raises(ParameterError, match="diffusion_steps=0"):
        build_sampler("dpm++2m", schedule, 0)
