"""Continuous cosine noise schedule with offset (the Keras DDIM example's schedule).

Notation (Song et al., "Denoising Diffusion Implicit Models", ICLR 2021):
``signal_rates`` is sqrt(alpha_t) and ``noise_rates`` is sqrt(1 - alpha_t), so a
noisy sample is ``x_t = signal_rates * x_0 + noise_rates * eps`` and
``signal_rates**2 + noise_rates**2 == 1`` at every time.
"""

import math

import keras
from keras import ops

from common.errors import ParameterError


@keras.saving.register_keras_serializable(package="musicgen")
class CosineNoiseSchedule:
    """Cosine schedule over continuous diffusion time ``t`` in [0, 1].

    The angle ``phi(t)`` moves linearly from ``arccos(max_signal_rate)`` at t=0
    to ``arccos(min_signal_rate)`` at t=1; ``signal_rates = cos(phi)``,
    ``noise_rates = sin(phi)``. This is the continuous form of the cosine
    schedule of Nichol and Dhariwal, "Improved Denoising Diffusion Probabilistic
    Models", ICML 2021, eq. (17), with the end points clipped as in the Keras
    example ``examples/generative/ddim.py`` so that neither rate reaches 0.

    Args:
        min_signal_rate: float in (0, max_signal_rate); signal rate at t=1 (pure noise end).
        max_signal_rate: float in (min_signal_rate, 1); signal rate at t=0 (clean end).
    Raises:
        ParameterError: if the rates are not ordered within (0, 1).
    """

    def __init__(self, min_signal_rate=0.02, max_signal_rate=0.95):
        if not 0.0 < min_signal_rate < max_signal_rate < 1.0:
            raise ParameterError(
                "Signal rates must satisfy 0 < min_signal_rate < max_signal_rate < 1. "
                f"Received: min_signal_rate={min_signal_rate}, max_signal_rate={max_signal_rate}"
            )
        self.min_signal_rate = float(min_signal_rate)
        self.max_signal_rate = float(max_signal_rate)
        self.start_angle = math.acos(self.max_signal_rate)
        self.end_angle = math.acos(self.min_signal_rate)

    def __call__(self, diffusion_times):
        """Rates at the given times.

        Args:
            diffusion_times: float tensor of any shape, values in [0, 1].
        Returns:
            ``(noise_rates, signal_rates)``: float tensors of the same shape, in (0, 1).
        """
        diffusion_angles = self.start_angle + diffusion_times * (self.end_angle - self.start_angle)
        return ops.sin(diffusion_angles), ops.cos(diffusion_angles)

    def get_config(self):
        """Constructor arguments, for serialization."""
        return {"min_signal_rate": self.min_signal_rate, "max_signal_rate": self.max_signal_rate}

    @classmethod
    def from_config(cls, config):
        """Inverse of `get_config`."""
        return cls(**config)
