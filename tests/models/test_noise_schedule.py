"""The noise schedules' invariants: unit norm, monotonicity, end points, serialization, the factory."""

import keras
import numpy as np
import pytest
from keras import ops

from common.errors import ParameterError
from models.noise_schedule import (
    SCHEDULE_NAMES,
    CosineNoiseSchedule,
    ImprovedCosineSchedule,
    LinearBetaSchedule,
    ShiftedSchedule,
    build_schedule,
)

# signal rates at t=0 and t=1 of each schedule with its defaults
END_POINTS = {
    "offset_cosine": (0.95, 0.02),
    "linear": (np.sqrt(0.9999), np.sqrt(np.prod(1.0 - np.linspace(1e-4, 0.02, 1000)))),
    "cosine": (None, None),  # checked against the paper's formula in test_cosine_matches_eq_17
}


def rates(schedule, times):
    return tuple(ops.convert_to_numpy(r) for r in schedule(np.asarray(times, dtype="float32")))


@pytest.mark.parametrize("name", SCHEDULE_NAMES)
def test_rates_are_unit_norm_monotonic_and_bounded(name):
    schedule = build_schedule(name)
    noise_rates, signal_rates = rates(schedule, np.linspace(0.0, 1.0, 1001))
    np.testing.assert_allclose(signal_rates**2 + noise_rates**2, 1.0, atol=1e-6)
    assert np.all(np.diff(signal_rates) < 0) and np.all(np.diff(noise_rates) > 0)
    assert np.all(signal_rates > 0) and np.all(noise_rates > 0) and np.all(signal_rates < 1)
    start, end = END_POINTS[name]
    if start is not None:
        assert signal_rates[0] == pytest.approx(start, rel=1e-5)
        assert signal_rates[-1] == pytest.approx(end, rel=1e-4)


def test_rates_keep_the_shape():
    for name in SCHEDULE_NAMES:
        noise_rates, signal_rates = build_schedule(name)(ops.ones((3, 1, 1, 1)) * 0.5)
        assert tuple(noise_rates.shape) == tuple(signal_rates.shape) == (3, 1, 1, 1)


def test_linear_is_exact_at_the_grid_points():
    schedule = LinearBetaSchedule()
    alpha_bars = np.cumprod(1.0 - np.linspace(1e-4, 0.02, 1000))
    steps = np.array([1, 2, 10, 500, 999, 1000])
    _, signal_rates = rates(schedule, (steps - 1) / 999.0)
    np.testing.assert_allclose(signal_rates**2, alpha_bars[steps - 1], rtol=1e-4)


def test_cosine_matches_eq_17_and_clips_the_last_beta():
    schedule = ImprovedCosineSchedule()
    f = lambda t: np.cos((t + 0.008) / 1.008 * np.pi / 2) ** 2  # noqa: E731
    steps = np.array([1, 100, 500, 900, 999])
    _, signal_rates = rates(schedule, (steps - 1) / 999.0)
    np.testing.assert_allclose(signal_rates**2, f(steps / 1000) / f(0.0), rtol=1e-4)
    _, last = rates(schedule, [1.0])
    # beta_T = 1 - 0 would zero the signal; clipped to 0.999 it leaves alpha_bar_T = 0.001 * alpha_bar_{T-1}
    assert last[0] ** 2 == pytest.approx(0.001 * f(0.999) / f(0.0), rel=1e-3)


def test_offset_cosine_is_the_default_and_keeps_its_saved_name():
    schedule = build_schedule("offset_cosine")
    assert isinstance(schedule, CosineNoiseSchedule)
    assert schedule.get_config() == {"min_signal_rate": 0.02, "max_signal_rate": 0.95}
    assert keras.saving.serialize_keras_object(schedule)["registered_name"] == "musicgen>CosineNoiseSchedule"


@pytest.mark.parametrize(
    "name, kwargs",
    [("offset_cosine", dict(min_signal_rate=0.1, max_signal_rate=0.9)),
     ("linear", dict(beta_start=1e-3, beta_end=0.05, num_timesteps=50)),
     ("cosine", dict(offset=0.01, max_beta=0.99, num_timesteps=200))],
)
def test_config_round_trip(name, kwargs):
    schedule = build_schedule(name, **kwargs)
    assert schedule.get_config() == pytest.approx(kwargs)
    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(schedule))
    assert type(again) is type(schedule) and again.get_config() == schedule.get_config()
    times = np.linspace(0.0, 1.0, 7)
    np.testing.assert_array_equal(rates(again, times)[1], rates(schedule, times)[1])


def test_unknown_schedule_name():
    with pytest.raises(ParameterError, match="schedule='quadratic'"):
        build_schedule("quadratic")
    with pytest.raises(ParameterError, match="linear"):
        build_schedule("linear", min_signal_rate=0.1)


@pytest.mark.parametrize("low, high", [(0.0, 0.9), (0.5, 0.4), (0.1, 1.0)])
def test_bad_rates(low, high):
    with pytest.raises(ParameterError, match="signal_rate"):
        CosineNoiseSchedule(low, high)


@pytest.mark.parametrize(
    "cls, kwargs, message",
    [(LinearBetaSchedule, dict(beta_start=0.02, beta_end=1e-4), "beta_start"),
     (LinearBetaSchedule, dict(num_timesteps=1), "num_timesteps"),
     (ImprovedCosineSchedule, dict(max_beta=1.0), "max_beta"),
     (ImprovedCosineSchedule, dict(offset=-0.1), "offset")],
)
def test_bad_discrete_arguments(cls, kwargs, message):
    with pytest.raises(ParameterError, match=message):
        cls(**kwargs)


@pytest.mark.parametrize("name", SCHEDULE_NAMES)
def test_shifted_schedule_moves_times_to_the_noise_end(name):
    base = build_schedule(name)
    times = np.linspace(0.0, 1.0, 101)
    base_noise, _ = rates(base, times)
    noise, signal = rates(ShiftedSchedule(base, 3.0), times)
    np.testing.assert_allclose(signal**2 + noise**2, 1.0, atol=1e-6)
    assert np.all(np.diff(noise) > 0)
    np.testing.assert_allclose([noise[0], noise[-1]], [base_noise[0], base_noise[-1]], rtol=1e-5)
    assert np.all(noise[1:-1] > base_noise[1:-1])  # every inner time is noisier
    # eq. 23 of Esser et al. 2024 at t = 0.5 with a = 3: 1.5 / 2 = 0.75
    np.testing.assert_allclose(rates(ShiftedSchedule(base, 3.0), [0.5])[0], rates(base, [0.75])[0], rtol=1e-6)
    np.testing.assert_allclose(rates(ShiftedSchedule(base, 1.0), times)[0], base_noise, rtol=1e-6)


def test_shifted_schedule_round_trip_and_bad_shift():
    schedule = ShiftedSchedule(CosineNoiseSchedule(0.02, 0.998), 2.5)
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(schedule))
    assert isinstance(restored, ShiftedSchedule) and restored.shift == 2.5
    assert restored.schedule.get_config() == {"min_signal_rate": 0.02, "max_signal_rate": 0.998}
    times = np.linspace(0.0, 1.0, 11)
    np.testing.assert_allclose(rates(restored, times), rates(schedule, times))
    for shift in (0.0, -1.0, float("inf"), True, "3"):
        with pytest.raises(ParameterError, match="schedule_shift"):
            ShiftedSchedule(CosineNoiseSchedule(), shift)
