"""Noise schedules over continuous diffusion time ``t`` in [0, 1].

Notation (Song et al., "Denoising Diffusion Implicit Models", ICLR 2021):
``signal_rates`` is sqrt(alpha_t) and ``noise_rates`` is sqrt(1 - alpha_t), so a
noisy sample is ``x_t = signal_rates * x_0 + noise_rates * eps`` and
``signal_rates**2 + noise_rates**2 == 1`` at every time. (Ho et al. 2020 write
this alpha as alpha-bar, the cumulative product of ``1 - beta``.) Time 0 is the
clean end, time 1 the pure-noise end, and every schedule's signal rate falls
strictly from one to the other.

Every schedule is a small callable object, ``schedule(times) -> (noise_rates,
signal_rates)``, serializable with ``get_config``/``from_config`` and registered
with Keras (package ``musicgen``), so a model's ``diffusion.json`` names it.
`build_schedule` makes one from its config name:

=================  ==========================  =================================================
name               class                       paper
=================  ==========================  =================================================
``offset_cosine``  `CosineNoiseSchedule`       Keras DDIM example (the default, shipped model)
``linear``         `LinearBetaSchedule`        Ho et al. 2020, Sec. 4 (betas 1e-4 to 0.02, T=1000)
``cosine``         `ImprovedCosineSchedule`    Nichol and Dhariwal 2021, eq. (17)
=================  ==========================  =================================================

`ShiftedSchedule` wraps any of them to spend more of diffusion time, in training and in
sampling alike, at the noisy end (config key ``schedule_shift``).
"""

import math

import keras
import numpy as np
from keras import ops

from common.errors import ParameterError


@keras.saving.register_keras_serializable(package="musicgen")
class CosineNoiseSchedule:
    """Offset cosine schedule over continuous diffusion time ``t`` in [0, 1] (config name ``offset_cosine``).

    The angle ``phi(t)`` moves linearly from ``arccos(max_signal_rate)`` at t=0
    to ``arccos(min_signal_rate)`` at t=1; ``signal_rates = cos(phi)``,
    ``noise_rates = sin(phi)``. This is the continuous form of the cosine
    schedule of Nichol and Dhariwal, "Improved Denoising Diffusion Probabilistic
    Models", ICML 2021, eq. (17), with the end points clipped as in the Keras
    example ``examples/generative/ddim.py`` so that neither rate reaches 0.
    The class keeps its historical name: saved models refer to
    ``musicgen>CosineNoiseSchedule``.

    Args:
        min_signal_rate: float in (0, max_signal_rate); signal rate at t=1 (pure noise end).
        max_signal_rate: float in (min_signal_rate, 1); signal rate at t=0 (clean end).
    Raises:
        ParameterError: if the rates are not ordered within (0, 1).
    """

    name = "offset_cosine"

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


class DiscreteAlphaBarSchedule:
    """Base of the schedules defined by a table of ``T`` discrete alpha-bar values.

    Subclasses set ``self.log_alpha_bars``: float64 numpy ``(T,)``, strictly
    decreasing, ``log(alpha_bar_i)`` for the discrete steps ``i = 1..T`` of Ho et
    al. 2020 (``alpha_bar_i = prod_{s<=i} (1 - beta_s)``, their eq. (4)).
    Continuous time maps onto the table linearly, ``u = t * (T - 1)``: t=0 is
    step 1 (the least noisy step of the paper, not noise-free) and t=1 is step
    T, so at ``t = (i - 1) / (T - 1)`` the rates are exactly the paper's. In
    between, ``log(alpha_bar)`` is interpolated linearly (the cumulative sum of
    ``log(1 - beta)`` with each beta spread evenly over its step), which keeps
    the signal rate strictly decreasing. Times outside [0, 1] are clipped.
    """

    name = None

    def _set_alpha_bars(self, alpha_bars):
        alpha_bars = np.asarray(alpha_bars, dtype="float64")
        self.log_alpha_bars = np.log(alpha_bars)
        self._table = self.log_alpha_bars.astype("float32")

    def __call__(self, diffusion_times):
        """Rates at the given times.

        Args:
            diffusion_times: float32 tensor of any shape, values in [0, 1].
        Returns:
            ``(noise_rates, signal_rates)``: float32 tensors of the same shape, in (0, 1);
            ``noise_rates = sqrt(-expm1(log alpha_bar))`` so that it stays accurate near t=0.
        """
        steps = len(self._table)
        u = ops.clip(ops.convert_to_tensor(diffusion_times, "float32"), 0.0, 1.0) * float(steps - 1)
        lower = ops.clip(ops.floor(u), 0.0, float(steps - 2))
        fraction = u - lower
        index = ops.cast(lower, "int32")
        table = ops.convert_to_tensor(self._table)
        log_alpha_bars = (1.0 - fraction) * ops.take(table, index) + fraction * ops.take(table, index + 1)
        return ops.sqrt(-ops.expm1(log_alpha_bars)), ops.exp(0.5 * log_alpha_bars)

    @classmethod
    def from_config(cls, config):
        """Inverse of `get_config`."""
        return cls(**config)


def _check_steps(num_timesteps):
    if isinstance(num_timesteps, bool) or not isinstance(num_timesteps, int) or num_timesteps < 2:
        raise ParameterError(f"num_timesteps must be an integer >= 2. Received: num_timesteps={num_timesteps!r}")


@keras.saving.register_keras_serializable(package="musicgen")
class LinearBetaSchedule(DiscreteAlphaBarSchedule):
    """Linear beta schedule of Ho et al., "Denoising Diffusion Probabilistic Models", NeurIPS 2020, Sec. 4.

    ``beta_i`` rises linearly from ``beta_start`` (i=1) to ``beta_end`` (i=T) and
    ``alpha_bar_i = prod_{s=1..i} (1 - beta_s)`` (eq. 4); continuous time is
    mapped onto the T steps as described in `DiscreteAlphaBarSchedule`. With
    the paper's values the signal rate runs from sqrt(0.9999) = 0.99995 at t=0
    to 0.00635 at t=1. Config name ``linear``.

    Args:
        beta_start: float in (0, beta_end); beta_1.
        beta_end: float in (beta_start, 1); beta_T.
        num_timesteps: int >= 2; T.
    Raises:
        ParameterError: if the betas are not ordered within (0, 1) or T < 2.
    """

    name = "linear"

    def __init__(self, beta_start=1e-4, beta_end=0.02, num_timesteps=1000):
        if not 0.0 < beta_start < beta_end < 1.0:
            raise ParameterError(
                "Betas must satisfy 0 < beta_start < beta_end < 1. "
                f"Received: beta_start={beta_start}, beta_end={beta_end}"
            )
        _check_steps(num_timesteps)
        self.beta_start = float(beta_start)
        self.beta_end = float(beta_end)
        self.num_timesteps = num_timesteps
        betas = np.linspace(self.beta_start, self.beta_end, num_timesteps, dtype="float64")
        self._set_alpha_bars(np.cumprod(1.0 - betas))

    def get_config(self):
        """Constructor arguments, for serialization."""
        return {"beta_start": self.beta_start, "beta_end": self.beta_end, "num_timesteps": self.num_timesteps}


@keras.saving.register_keras_serializable(package="musicgen")
class ImprovedCosineSchedule(DiscreteAlphaBarSchedule):
    """Cosine schedule of Nichol and Dhariwal, "Improved Denoising Diffusion Probabilistic Models", ICML 2021.

    Eq. (17): ``alpha_bar_i = f(i) / f(0)`` with ``f(i) = cos(((i / T + s) / (1 + s)) * pi / 2)**2``;
    as in the paper (Sec. 3.2) the betas ``1 - alpha_bar_i / alpha_bar_{i-1}``
    are clipped to at most ``max_beta`` (0.999) and alpha-bar is rebuilt as
    their cumulative product, so it never reaches 0 (only the last beta is
    clipped with the defaults). Continuous time is mapped onto the T steps as
    described in `DiscreteAlphaBarSchedule`: the signal rate runs from 0.99998
    at t=0 to 4.9e-5 at t=1, so an eps-predicting model's first sampling step
    divides by a very small signal rate (the x0 estimate is then only
    reliable through clipping, or with the ``v`` target). Config name ``cosine``.

    Args:
        offset: float >= 0; s, the small offset that keeps beta_1 from being too small (0.008).
        max_beta: float in (0, 1); the clip of the betas (0.999).
        num_timesteps: int >= 2; T.
    Raises:
        ParameterError: for a negative offset, max_beta outside (0, 1) or T < 2.
    """

    name = "cosine"

    def __init__(self, offset=0.008, max_beta=0.999, num_timesteps=1000):
        if not offset >= 0.0:
            raise ParameterError(f"offset must be >= 0. Received: offset={offset}")
        if not 0.0 < max_beta < 1.0:
            raise ParameterError(f"max_beta must be in (0, 1). Received: max_beta={max_beta}")
        _check_steps(num_timesteps)
        self.offset = float(offset)
        self.max_beta = float(max_beta)
        self.num_timesteps = num_timesteps
        steps = np.arange(num_timesteps + 1, dtype="float64") / num_timesteps
        f = np.cos((steps + self.offset) / (1.0 + self.offset) * np.pi / 2.0) ** 2
        alpha_bars = f / f[0]
        betas = np.minimum(1.0 - alpha_bars[1:] / alpha_bars[:-1], self.max_beta)
        self._set_alpha_bars(np.cumprod(1.0 - betas))

    def get_config(self):
        """Constructor arguments, for serialization."""
        return {"offset": self.offset, "max_beta": self.max_beta, "num_timesteps": self.num_timesteps}


@keras.saving.register_keras_serializable(package="musicgen")
class ShiftedSchedule:
    """A schedule with its time axis shifted towards the noise end (config key ``schedule_shift``).

    ``shifted(t) = schedule(a t / (1 + (a - 1) t))`` for a shift ``a`` > 0 (Esser et al.,
    "Scaling Rectified Flow Transformers for High-Resolution Image Synthesis", ICML 2024,
    eq. 23). The map is increasing, keeps 0 and 1 fixed, and for ``a`` > 1 lies above the
    identity, so uniform training times and equal sampling steps land more often at high
    noise: with ``a`` = 3 the share of training times beyond t = 0.7 of the base schedule
    grows from 30 % to 56 %. The network sees the noise level, not the time, so a network
    trained on the base schedule can be trained further or sampled on the shifted one.

    Args:
        schedule: a schedule of this module, ``schedule(times) -> (noise_rates, signal_rates)``.
        shift: float > 0; ``a`` (1 gives the base schedule back).
    Raises:
        ParameterError: for a shift that is not a finite number > 0.
    """

    name = "shifted"

    def __init__(self, schedule, shift):
        if isinstance(shift, bool) or not isinstance(shift, (int, float)) or not 0.0 < shift < float("inf"):
            raise ParameterError(f"schedule_shift must be a number > 0. Received: schedule_shift={shift!r}")
        self.schedule = schedule
        self.shift = float(shift)

    def shifted_times(self, diffusion_times):
        """``a t / (1 + (a - 1) t)`` of float ``diffusion_times`` in [0, 1]: the base schedule's times, same shape."""
        return self.shift * diffusion_times / (1.0 + (self.shift - 1.0) * diffusion_times)

    def __call__(self, diffusion_times):
        """``(noise_rates, signal_rates)`` of the base schedule at the shifted times, same shape, in (0, 1)."""
        return self.schedule(self.shifted_times(diffusion_times))

    def get_config(self):
        """Constructor arguments, for serialization (the base schedule serialized)."""
        return {"schedule": keras.saving.serialize_keras_object(self.schedule), "shift": self.shift}

    @classmethod
    def from_config(cls, config):
        """Inverse of `get_config`: the base schedule deserialized, then wrapped."""
        return cls(keras.saving.deserialize_keras_object(config["schedule"]), config["shift"])


SCHEDULES = {cls.name: cls for cls in (CosineNoiseSchedule, LinearBetaSchedule, ImprovedCosineSchedule)}
SCHEDULE_NAMES = tuple(SCHEDULES)


def build_schedule(name, **kwargs):
    """The schedule called ``name`` (a key of ``SCHEDULES``), built with ``kwargs``.

    Args:
        name: ``"offset_cosine"``, ``"linear"`` or ``"cosine"``.
        **kwargs: constructor arguments of that schedule's class.
    Returns:
        The schedule object.
    Raises:
        ParameterError: for an unknown name, or arguments the class rejects.
    """
    if name not in SCHEDULES:
        raise ParameterError(f"schedule must be one of {SCHEDULE_NAMES}. Received: schedule={name!r}")
    try:
        return SCHEDULES[name](**kwargs)
    except TypeError as err:  # an argument the class does not take
        raise ParameterError(f"Bad arguments for schedule {name!r} ({err}). Received: {kwargs!r}") from err
