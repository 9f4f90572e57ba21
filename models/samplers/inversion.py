"""DDIM inversion: the initial noise from which deterministic DDIM sampling gives back given data.

Notation as `models.samplers.ddim`, with time running forward: ``next_*`` are the rates
at t + h. The eta = 0 update of Song et al. 2021 (eq. 12 with sigma_t = 0) is run from
t = 0 to t = 1 in ``diffusion_steps`` equal steps, each using the denoiser's estimates at
the current time (the approximation of Song et al. 2021, Sec. 4.3, which encodes x_0 into
x_T by running the ODE of the sampler backwards, and of Dhariwal and Nichol, "Diffusion
Models Beat GANs on Image Synthesis", NeurIPS 2021, "DDIM inversion"):
    x_{t+h} = s_{t+h} * x0_hat(x_t) + n_{t+h} * eps_hat(x_t)
It is exact in the limit of many steps; with few steps, sampling the result gives back
an approximation of the data.
"""

from keras import ops

from models.samplers.base import Sampler
from models.samplers.ddim import DDIMSampler


class DDIMInversion(Sampler):
    """Deterministic DDIM run forward in time, from data (t = 0) to noise (t = 1).

    Args:
        schedule: a noise schedule, ``schedule(times) -> (noise_rates, signal_rates)``.
        diffusion_steps: int >= 1, network evaluations.
    Raises:
        ParameterError: if ``diffusion_steps`` is not an integer >= 1.
    """

    def __init__(self, schedule, diffusion_steps):
        super().__init__(schedule, diffusion_steps)
        # the one DDIM update, deterministic (eta = 0), given the rates of t + h as its "next" rates
        self._ddim = DDIMSampler(schedule, diffusion_steps, eta=0.0)

    def sample(self, denoise, noisy_images):
        """Invert ``noisy_images`` (standardised data, taken as x_0) to x_1.

        Args:
            denoise: the denoiser ``(x_t, n_t, s_t) -> (pred_noises, pred_images)`` (`models.samplers.base`).
            noisy_images: float32 ``(batch, *data_shape)``, standardised data.
        Returns:
            float32 ``(batch, *data_shape)``: x_1, noise in the standardised scale, to be given
            to `DDIMSampler.sample` (or `InpaintingSampler.sample`) as the initial noise.
        """
        for diffusion_times, next_diffusion_times in self.forward_times(ops.shape(noisy_images)[0]):
            rates = self.schedule(diffusion_times)
            pred_noises, pred_images = denoise(noisy_images, *rates)
            noisy_images = self._ddim.step(pred_noises, pred_images, rates, self.schedule(next_diffusion_times))
        return noisy_images
