"""DDIM sampling (Song et al., "Denoising Diffusion Implicit Models", ICLR 2021), eta included.

Notation (Song et al. 2021, Sec. 4; their alpha_t is Ho et al.'s alpha-bar_t):
    noisy_images        x_t, the current sample at time t
    signal_rates        s_t = sqrt(alpha_t)
    noise_rates         n_t = sqrt(1 - alpha_t), so s_t**2 + n_t**2 = 1
    next_signal_rates   s_{t-1} = sqrt(alpha_{t-1}), at the next (less noisy) time t - h
    next_noise_rates    n_{t-1} = sqrt(1 - alpha_{t-1})
    pred_images         x0_hat = f_theta(x_t), the denoiser's estimate of x_0    (eq. 9)
    pred_noises         eps_hat = eps_theta(x_t), its estimate of the noise
    sigmas              sigma_t(eta)                                            (eq. 16)
    direction_rates     sqrt(1 - alpha_{t-1} - sigma_t**2), the weight of the "direction
                        pointing to x_t"                                        (eq. 12)
    step_noise          eps_t ~ N(0, I), the fresh noise of a stochastic step

The update (eq. 12) is
    x_{t-1} = s_{t-1} * x0_hat + sqrt(n_{t-1}**2 - sigma_t**2) * eps_hat + sigma_t * eps_t
with (eq. 16)
    sigma_t = eta * sqrt((1 - alpha_{t-1}) / (1 - alpha_t)) * sqrt(1 - alpha_t / alpha_{t-1})
            = eta * (n_{t-1} / n_t) * sqrt(1 - s_t**2 / s_{t-1}**2).
eta = 0 is the deterministic DDIM sampler; eta = 1 gives sigma_t**2 the variance of DDPM's
posterior q(x_{t-1} | x_t, x_0) (Ho et al. 2020, eq. 7, beta-tilde_t), so the sampler is
DDPM's ancestral sampler on the chosen time grid.
"""

from keras import ops

from common.errors import ParameterError
from models.samplers.base import Sampler, check_eta


class DDIMSampler(Sampler):
    """DDIM over ``diffusion_steps`` equal steps from t = 1 to t = 0, with stochasticity ``eta``.

    Args:
        schedule: a noise schedule, ``schedule(times) -> (noise_rates, signal_rates)``.
        diffusion_steps: int >= 1, network evaluations.
        eta: float in [0, 1]; 0 (default) is deterministic DDIM, 1 has the variance of DDPM's
            ancestral sampler (Song et al. 2021, eq. 16).
    Raises:
        ParameterError: if ``diffusion_steps`` is not an integer >= 1 or ``eta`` is not in [0, 1].
    """

    def __init__(self, schedule, diffusion_steps, eta=0.0):
        super().__init__(schedule, diffusion_steps)
        self.eta = check_eta(eta)

    def sigmas(self, rates, next_rates):
        """sigma_t of Song et al. 2021, eq. 16: float32 ``(batch, 1, 1, 1)``, >= 0.

        Args:
            rates, next_rates: ``(noise_rates, signal_rates)`` at t and at t - h, each
                float32 ``(batch, 1, 1, 1)`` in (0, 1).
        """
        noise_rates, signal_rates = rates
        next_noise_rates, next_signal_rates = next_rates
        # 1 - alpha_t / alpha_{t-1}; clamped at 0 against rounding when the two times are close
        ratio = ops.maximum(1.0 - ops.square(signal_rates) / ops.square(next_signal_rates), 0.0)
        return self.eta * next_noise_rates / noise_rates * ops.sqrt(ratio)

    def step(self, pred_noises, pred_images, rates, next_rates, step_noise=None):
        """One DDIM update from time t to t - h (Song et al. 2021, eq. 12): x_{t-1}.

        Args:
            pred_noises, pred_images: float32 ``(batch, *data_shape)``, the denoiser's eps_hat and
                x0_hat at time t, standardised scale.
            rates, next_rates: ``(noise_rates, signal_rates)`` at t and t - h, float32 ``(batch, 1, 1, 1)``.
            step_noise: callable ``() -> float32 (batch, *data_shape)``, standard normal: eps_t.
                Called once when ``eta > 0``, never when ``eta = 0``.
        Returns:
            float32 ``(batch, *data_shape)``: x_{t-1}, standardised scale.
        Raises:
            ParameterError: if ``eta > 0`` and no ``step_noise`` is given.
        """
        next_noise_rates, next_signal_rates = next_rates
        if self.eta == 0.0:
            # sigma_t = 0: eq. 12 is s_{t-1} * x0_hat + n_{t-1} * eps_hat. Written apart so that it
            # is exactly that (sqrt(n**2) need not round back to n), as the shipped samples were made.
            return next_signal_rates * pred_images + next_noise_rates * pred_noises
        if step_noise is None:
            raise ParameterError(f"A stochastic step (eta > 0) needs step_noise. Received: eta={self.eta}, step_noise=None")
        # sigma_t, eq. 16
        sigmas = self.sigmas(rates, next_rates)
        # sqrt(1 - alpha_{t-1} - sigma_t**2), eq. 12; clamped at 0 against rounding at eta = 1
        direction_rates = ops.sqrt(ops.maximum(ops.square(next_noise_rates) - ops.square(sigmas), 0.0))
        # eq. 12: predicted x_0, direction pointing to x_t, random noise
        return next_signal_rates * pred_images + direction_rates * pred_noises + sigmas * step_noise()

    def sample(self, denoise, noisy_images, step_noise=None):
        """Sample from the initial noise x_1 down to time 0.

        Each of the ``diffusion_steps`` steps evaluates the denoiser at time t and, except
        after the last one, steps to t - h; the result is the last step's x0_hat (at t = h),
        not a final remix to t = 0. The last step draws no noise.

        Args:
            denoise: the denoiser ``(x_t, n_t, s_t) -> (pred_noises, pred_images)``
                (`models.samplers.base`).
            noisy_images: float32 ``(batch, *data_shape)``, standard normal: x_1.
            step_noise: callable ``() -> float32 (batch, *data_shape)`` standard normal, the
                eps_t of each stochastic step (needed when ``eta > 0``).
        Returns:
            float32 ``(batch, *data_shape)``, standardised scale: the last step's x0_hat.
        Raises:
            ParameterError: if ``eta > 0`` and no ``step_noise`` is given (at the first step).
        """
        pred_images = noisy_images
        last = self.diffusion_steps - 1
        for step, (diffusion_times, next_diffusion_times) in enumerate(self.reverse_times(ops.shape(noisy_images)[0])):
            # separate the current noisy sample into its estimated components
            rates = self.schedule(diffusion_times)
            pred_noises, pred_images = denoise(noisy_images, *rates)
            if step == last:
                break
            # remix them with the rates of the next, less noisy, time
            noisy_images = self.step(pred_noises, pred_images, rates, self.schedule(next_diffusion_times), step_noise)
        return pred_images
