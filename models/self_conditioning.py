"""Self-conditioning: the network is also shown its own last estimate of the clean sample.

Chen, Zhang and Hinton, "Analog Bits: Generating Discrete Data using Diffusion Models with
Self-Conditioning", ICLR 2023, Sec. 3 and Algorithms 1-2. The denoiser takes a further input,
``previous_images`` (its x0 estimate from the step before, standardised scale, same shape as
the noisy images; zeros at the first step):

* training (Algorithm 1): with probability ``probability`` (their 0.5) a first pass of the
  network, with zeros as ``previous_images``, gives an estimate x0_hat; the trained pass then
  gets ``stop_gradient(x0_hat)``; otherwise it gets zeros. The first pass costs one more forward
  pass per step and no backward pass;
* sampling (Algorithm 2): each step's x0 estimate is fed to the next step. `SelfConditionedDenoiser`
  keeps it between calls, so every sampler of `models.samplers` works unchanged.

For discrete data such as piano rolls this lets a step see which notes the previous step decided
on, e.g. how many pitches a column already holds. `models.unet.build_unet` with
``self_conditioning=True`` adds the input (through a zero-initialised convolution, so a network
initialised from one without it starts as that network); `models.diffusion.DiffusionModel` finds it
by its name, `INPUT_NAME`.
"""

import keras
from keras import ops

INPUT_NAME = "previous_images"
TRAINING_PROBABILITY = 0.5  # the share of training samples shown a first-pass estimate (Chen et al. 2023, Sec. 3.2)


def takes_previous_images(network):
    """True if ``network``'s last input is `INPUT_NAME` (a self-conditioned network, `models.unet.build_unet`)."""
    return bool(network.inputs) and getattr(network.inputs[-1], "name", "").split(":")[0] == INPUT_NAME


def training_previous_images(first_pass_images, probability, seed_generator):
    """The ``previous_images`` of a training step (Chen et al. 2023, Algorithm 1).

    Args:
        first_pass_images: float32 ``(batch, *data_shape)``, the network's x0 estimate with zeros as
            ``previous_images`` (no gradient flows back into it).
        probability: float in [0, 1], the share of samples given that estimate; the others get zeros.
        seed_generator: a ``keras.random.SeedGenerator`` for the per-sample draw.
    Returns:
        float32 ``(batch, *data_shape)``: ``stop_gradient(first_pass_images)`` for the drawn samples, zeros elsewhere.
    """
    batch = ops.shape(first_pass_images)[0]
    rank = len(first_pass_images.shape)
    draws = keras.random.uniform((batch,) + (1,) * (rank - 1), seed=seed_generator)
    keep = ops.cast(draws < probability, first_pass_images.dtype)
    return ops.stop_gradient(first_pass_images) * keep


class SelfConditionedDenoiser:
    """A sampler's denoiser ``(x_t, n_t, s_t) -> (pred_noises, pred_images)`` that feeds each estimate to the next call.

    Wraps a traced denoiser ``compiled(x_t, n_t, s_t, previous_images, *conditions)``; the first call
    gets zeros (Chen et al. 2023, Algorithm 2). One instance serves one sampling run of one batch:
    its state is that batch's last estimate, so it is made anew for every run
    (`models.diffusion.DiffusionModel.ema_denoiser`).
    """

    def __init__(self, compiled, conditions=()):
        self.compiled = compiled
        self.conditions = tuple(conditions)
        self.previous_images = None

    def __call__(self, noisy_images, noise_rates, signal_rates):
        previous = ops.zeros_like(noisy_images) if self.previous_images is None else self.previous_images
        pred_noises, pred_images = self.compiled(noisy_images, noise_rates, signal_rates, previous, *self.conditions)
        self.previous_images = pred_images
        return pred_noises, pred_images
