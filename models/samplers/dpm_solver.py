"""DPM-Solver++(2M): the multistep second-order solver of the diffusion ODE in data prediction.

Lu et al., "DPM-Solver++: Fast Solver for Guided Sampling of Diffusion Probabilistic
Models", 2022 (arXiv 2211.01095), Algorithm 2. It integrates the same probability-flow
ODE as deterministic DDIM, but corrects each step with the previous step's estimate,
so it reaches a given quality in fewer network evaluations; its first step is exactly
a DDIM step.

Notation (Lu et al. write alpha_t for the signal rate and sigma_t for the noise rate):
    noisy_images        x_t
    signal_rates        s_t = alpha_t
    noise_rates         n_t = sigma_t
    lambdas             lambda_t = log(s_t / n_t), half the log signal-to-noise ratio
    h                   h_i = lambda_{t_i} - lambda_{t_{i-1}} > 0 (time runs towards the data)
    pred_images         x0_hat(x_{t_{i-1}}), the denoiser's data prediction
    r                   r_i = h_{i-1} / h_i
    D                   D_i = (1 + 1 / (2 r_i)) x0_hat_{i-1} - 1 / (2 r_i) x0_hat_{i-2}
The update from t_{i-1} to t_i (Algorithm 2) is
    x_{t_i} = (n_{t_i} / n_{t_{i-1}}) x_{t_{i-1}} - s_{t_i} (exp(-h_i) - 1) D_i
with D_1 = x0_hat_0 at the first step (the DDIM update, Lu et al. eq. 5 with k = 1).

The time grid and the end are the same as `models.samplers.ddim.DDIMSampler`'s: equal
steps t = 1, 1 - h, ..., h, and the result is the last step's data prediction, so the
two samplers spend the same ``diffusion_steps`` network evaluations.
"""

from keras import ops

from models.samplers.base import Sampler


def _lambdas(rates):
    noise_rates, signal_rates = rates
    return ops.log(signal_rates) - ops.log(noise_rates)


class DPMSolverPlusPlus2MSampler(Sampler):
    """DPM-Solver++(2M) (Lu et al. 2022, Algorithm 2) over ``diffusion_steps`` equal steps from t = 1.

    Deterministic: no noise is drawn after the initial one.

    Args:
        schedule: a noise schedule, ``schedule(times) -> (noise_rates, signal_rates)``.
        diffusion_steps: int >= 1, network evaluations.
    Raises:
        ParameterError: if ``diffusion_steps`` is not an integer >= 1.
    """

    def step(self, noisy_images, pred_images, previous_pred_images, rates, next_rates, previous_rates=None):
        """One multistep update from time t_{i-1} to t_i: x_{t_i}.

        Args:
            noisy_images: float32 ``(batch, *data_shape)``: x_{t_{i-1}}, standardised scale.
            pred_images: float32 ``(batch, *data_shape)``: x0_hat at t_{i-1}.
            previous_pred_images: None at the first step, else x0_hat at t_{i-2}.
            rates, next_rates: ``(noise_rates, signal_rates)`` at t_{i-1} and t_i, float32 ``(batch, 1, 1, 1)``.
            previous_rates: the rates at t_{i-2} (with ``previous_pred_images``).
        Returns:
            float32 ``(batch, *data_shape)``: x_{t_i}.
        """
        noise_rates, _ = rates
        next_noise_rates, next_signal_rates = next_rates
        h = _lambdas(next_rates) - _lambdas(rates)
        if previous_pred_images is None:
            data_term = pred_images  # first order: the DDIM step
        else:
            r = (_lambdas(rates) - _lambdas(previous_rates)) / h
            data_term = (1.0 + 0.5 / r) * pred_images - (0.5 / r) * previous_pred_images
        # Algorithm 2: (sigma_{t_i} / sigma_{t_{i-1}}) x - alpha_{t_i} (exp(-h_i) - 1) D_i
        return (next_noise_rates / noise_rates) * noisy_images - next_signal_rates * (ops.exp(-h) - 1.0) * data_term

    def sample(self, denoise, noisy_images, step_noise=None):
        """Sample from the initial noise x_1 down to time 0 (``step_noise`` is not used: the solver is deterministic).

        Args:
            denoise: the denoiser ``(x_t, n_t, s_t) -> (pred_noises, pred_images)`` (`models.samplers.base`).
            noisy_images: float32 ``(batch, *data_shape)``, standard normal: x_1.
            step_noise: ignored (the interface of the stochastic samplers).
        Returns:
            float32 ``(batch, *data_shape)``, standardised scale: the last step's x0_hat.
        """
        previous_pred_images = previous_rates = None
        pred_images = noisy_images
        last = self.diffusion_steps - 1
        for index, (diffusion_times, next_diffusion_times) in enumerate(self.reverse_times(ops.shape(noisy_images)[0])):
            rates = self.schedule(diffusion_times)
            _, pred_images = denoise(noisy_images, *rates)
            if index == last:
                break
            next_rates = self.schedule(next_diffusion_times)
            noisy_images = self.step(noisy_images, pred_images, previous_pred_images, rates, next_rates, previous_rates)
            previous_pred_images, previous_rates = pred_images, rates
        return pred_images
