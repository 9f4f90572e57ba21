"""The sampler interface, its argument checks, and per-sample seeded noise.

A sampler runs the reverse (or, for inversion, the forward) diffusion process over
continuous time ``t`` in [0, 1] with a noise schedule (`models.noise_schedule`) and a
*denoiser*, the callable

    denoise(noisy_images, noise_rates, signal_rates) -> (pred_noises, pred_images)

with ``noisy_images``, ``pred_noises`` and ``pred_images`` float32 ``(batch, *data_shape)``
in the standardised scale (zero mean, unit variance) and the rates float32
``(batch, 1, 1, 1)`` in (0, 1) (`models.diffusion.DiffusionModel.denoise` with the EMA
network, conditioned and guided as asked). The sampler knows nothing of the network,
of conditioning or of the data's stored scale: it takes rates from the schedule, asks
the denoiser for estimates and steps. This follows diffusers' ``DDIMScheduler``
(``set_timesteps``, ``step``), with the time grid and the loop in the sampler.

Time grid: ``diffusion_steps = N`` equal steps of ``h = 1 / N``. Sampling visits
``t = 1, 1 - h, ..., h`` and steps each time to ``t - h``; inversion visits
``t = 0, h, ..., 1 - h`` and steps each time to ``t + h``.
"""

import copy

import numpy as np
from keras import ops

from common.errors import ParameterError


def check_steps(diffusion_steps, name="diffusion_steps"):
    """``int(diffusion_steps)`` if it is an integer >= 1 (not a bool), else ParameterError naming it."""
    if isinstance(diffusion_steps, bool) or not isinstance(diffusion_steps, (int, np.integer)) or diffusion_steps < 1:
        raise ParameterError(f"{name} must be an integer >= 1. Received: {name}={diffusion_steps!r}")
    return int(diffusion_steps)


def check_eta(eta):
    """``float(eta)`` if it is a real number in [0, 1] (not a bool or NaN), else ParameterError naming it.

    ``eta`` scales the noise added at each step (Song et al. 2021, eq. 16): 0 is
    deterministic DDIM, 1 DDPM's posterior variance.
    """
    if isinstance(eta, bool) or not isinstance(eta, (int, float, np.floating, np.integer)) or not 0.0 <= eta <= 1.0:
        raise ParameterError(f"eta must be a number in [0, 1]. Received: eta={eta!r}")
    return float(eta)


class SeededNoise:
    """Standard-normal draws with one random generator per sample, so a batch is reproducible item by item.

    Sample ``i``'s draws come from ``numpy.random.default_rng(seeds[i])`` in the order the
    sampler asks for them (typically the initial noise first, then the noise of each step),
    so sample ``i`` depends only on ``seeds[i]``, not on the batch it falls in.

    Args:
        seeds: sequence of ints, one per sample.
        data_shape: shape of one sample, e.g. ``(512, 192, 1)``.
        count: None, or the number of samples the seeds must be for.
    Raises:
        ParameterError: for a seed that is not an integer, no seed, or (with ``count``) a number of seeds other than ``count``.
    """

    def __init__(self, seeds, data_shape, count=None):
        if any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) for s in seeds):
            raise ParameterError(f"seeds must be integers. Received: seeds={list(seeds)!r}")
        seeds = [int(s) for s in seeds]
        if count is not None and len(seeds) != count:
            raise ParameterError(f"seeds must hold one seed per sample ({count}). Received: seeds={seeds}")
        if not seeds:
            raise ParameterError("seeds must hold at least one seed. Received: seeds=[]")
        self.seeds = seeds
        self.data_shape = tuple(data_shape)
        self._generators = [np.random.default_rng(s) for s in seeds]

    def __len__(self):
        return len(self._generators)

    def draw(self):
        """The next draw of every sample: float32 tensor ``(len(self), *data_shape)``, standard normal."""
        draws = [g.standard_normal(self.data_shape).astype("float32") for g in self._generators]
        return ops.convert_to_tensor(np.stack(draws))

    def subset(self, start, stop):
        """The samples ``start:stop``, sharing their generators (draws from either advance both)."""
        subset = copy.copy(self)
        subset.seeds, subset._generators = self.seeds[start:stop], self._generators[start:stop]
        return subset


class Sampler:
    """The base of the samplers: a schedule, a number of steps and the time grid.

    A subclass implements ``sample(denoise, noisy_images, ...)``, the whole loop from
    pure noise to the estimate of the clean sample, and usually a ``step`` with the
    update of one time step (see `models.samplers.ddim.DDIMSampler`).

    Args:
        schedule: a noise schedule, ``schedule(times) -> (noise_rates, signal_rates)``.
        diffusion_steps: int >= 1, the number of steps (network evaluations).
    Raises:
        ParameterError: if ``diffusion_steps`` is not an integer >= 1.
    """

    def __init__(self, schedule, diffusion_steps):
        self.schedule = schedule
        self.diffusion_steps = check_steps(diffusion_steps)

    def reverse_times(self, batch):
        """Yield ``(diffusion_times, next_diffusion_times)``, float32 ``(batch, 1, 1, 1)``, for t = 1, 1 - h, ..., h."""
        step_size = 1.0 / self.diffusion_steps
        for step in range(self.diffusion_steps):
            diffusion_times = ops.ones((batch, 1, 1, 1)) - step * step_size
            yield diffusion_times, diffusion_times - step_size

    def forward_times(self, batch):
        """Yield ``(diffusion_times, next_diffusion_times)``, float32 ``(batch, 1, 1, 1)``, for t = 0, h, ..., 1 - h."""
        step_size = 1.0 / self.diffusion_steps
        ones = ops.ones((batch, 1, 1, 1))
        for step in range(self.diffusion_steps):
            diffusion_times = ones * (step * step_size)
            yield diffusion_times, diffusion_times + step_size

    def sample(self, denoise, noisy_images, *args, **kwargs):
        """Run the sampler from ``noisy_images``; returns float32 ``(batch, *data_shape)``, standardised."""
        raise NotImplementedError
