"""Masked DDIM: fill the unknown part of a sample (inpainting, outpainting), with RePaint resampling.

Notation (as `models.samplers.ddim`, plus):
    known_images    x_0^known, the known data, standardised (values outside the mask unused)
    keep            m, 1 where the data are known, 0 where they are generated
    free            1 - m
    back            s_t / s_{t-1}, the signal kept by one forward step from t - h back to t

At each reverse step from t to t - h the known region of x_t is replaced by the known
data noised to the same level (Lugmayr et al., "RePaint: Inpainting using Denoising
Diffusion Probabilistic Models", CVPR 2022, eq. 8, with the forward marginal
q(x_t | x_0) of Ho et al. 2020, eq. 4):
    x_t <- m * (s_t * x_0^known + n_t * z) + (1 - m) * x_t,     z ~ N(0, I)
then the DDIM update of `models.samplers.ddim` (Song et al. 2021, eq. 12 and 16) is applied.
With ``resample = U > 1`` each step is taken U times: after each of the first U - 1 the
sample goes back to time t by one forward step (RePaint, Algorithm 1 with jump length 1,
and q(x_t | x_{t-1}) of Ho et al. 2020, eq. 2, with alpha_t / alpha_{t-1} = s_t**2 / s_{t-1}**2):
    x_t = (s_t / s_{t-1}) * x_{t-1} + sqrt(1 - s_t**2 / s_{t-1}**2) * z
"""

from keras import ops

from models.samplers.base import check_steps
from models.samplers.ddim import DDIMSampler


def renoise(noisy_images, rates, next_rates, noise):
    """One forward step from t - h back to t: q(x_t | x_{t-1}) (Ho et al. 2020, eq. 2).

    Args:
        noisy_images: float32 ``(batch, *data_shape)``, x_{t-1}.
        rates, next_rates: ``(noise_rates, signal_rates)`` at t and t - h, float32 ``(batch, 1, 1, 1)``.
        noise: float32 ``(batch, *data_shape)``, standard normal.
    Returns:
        float32 ``(batch, *data_shape)``: x_t.
    """
    # sqrt(alpha_t / alpha_{t-1}) = sqrt(1 - beta_t)
    back = rates[1] / next_rates[1]
    # sqrt(beta_t), clamped at 0 against rounding when the two times are close
    return back * noisy_images + ops.sqrt(ops.maximum(1.0 - ops.square(back), 0.0)) * noise


class InpaintingSampler(DDIMSampler):
    """DDIM that keeps the known region of the data, with RePaint's resampling.

    With an all-zero mask, ``eta = 0`` and ``resample = 1`` it gives the same result as
    `DDIMSampler.sample` from the same initial noise.

    Args:
        schedule: a noise schedule, ``schedule(times) -> (noise_rates, signal_rates)``.
        diffusion_steps: int >= 1, DDIM steps (network evaluations: about ``diffusion_steps * resample``).
        eta: float in [0, 1], as in `DDIMSampler`.
        resample: int >= 1, RePaint's U, the number of times each step is taken (1: plain masked DDIM).
    Raises:
        ParameterError: if ``diffusion_steps`` or ``resample`` is not an integer >= 1, or
            ``eta`` is not in [0, 1].
    """

    def __init__(self, schedule, diffusion_steps, eta=0.0, resample=1):
        super().__init__(schedule, diffusion_steps, eta)
        self.resample = check_steps(resample, "resample")

    def sample(self, denoise, noisy_images, known_images, keep, noise):
        """Sample from x_1, keeping the known region; returns the last step's x0_hat.

        Args:
            denoise: the denoiser ``(x_t, n_t, s_t) -> (pred_noises, pred_images)`` (`models.samplers.base`).
            noisy_images: float32 ``(batch, *data_shape)``: x_1 (e.g. standard normal).
            known_images: float32 ``(batch, *data_shape)``, standardised, finite (zeros outside the mask).
            keep: float32 ``(batch, *data_shape)``, 1 where known, 0 where generated.
            noise: callable ``() -> float32 (batch, *data_shape)`` standard normal (e.g.
                `SeededNoise.draw`), called for each step's z (every step and round), then
                its eps_t when ``eta > 0``, then its back step's z when one follows.
        Returns:
            float32 ``(batch, *data_shape)``, standardised: x0_hat of the last step. Its known
            region is the network's estimate; the caller puts the known data back.
        """
        keep = ops.convert_to_tensor(keep)
        free = 1.0 - keep
        pred_images = noisy_images
        last = self.diffusion_steps - 1
        for step, (diffusion_times, next_diffusion_times) in enumerate(self.reverse_times(ops.shape(noisy_images)[0])):
            rates = self.schedule(diffusion_times)
            next_rates = self.schedule(next_diffusion_times)
            noise_rates, signal_rates = rates
            for round_ in range(self.resample):
                # RePaint eq. 8: the known region noised to time t, the rest as sampled
                noisy_images = keep * (signal_rates * known_images + noise_rates * noise()) + free * noisy_images
                pred_noises, pred_images = denoise(noisy_images, noise_rates, signal_rates)
                if step == last:
                    break
                next_noisy_images = self.step(pred_noises, pred_images, rates, next_rates, noise)
                # RePaint Algorithm 1: go back to t and take the step again, U times in all
                if round_ < self.resample - 1:
                    noisy_images = renoise(next_noisy_images, rates, next_rates, noise())
                else:
                    noisy_images = next_noisy_images
        return pred_images
