"""The cosine noise schedule's invariants."""

import numpy as np
import pytest
from keras import ops

from common.errors import ParameterError
from models.noise_schedule import CosineNoiseSchedule


def test_rates_are_unit_norm_monotonic_and_bounded():
    schedule = CosineNoiseSchedule(0.02, 0.95)
    times = np.linspace(0.0, 1.0, 101, dtype="float32")
    noise_rates, signal_rates = (ops.convert_to_numpy(r) for r in schedule(times))
    np.testing.assert_allclose(signal_rates**2 + noise_rates**2, 1.0, atol=1e-6)
    assert np.all(np.diff(signal_rates) < 0) and np.all(np.diff(noise_rates) > 0)
    assert signal_rates[0] == pytest.approx(0.95, abs=1e-6)
    assert signal_rates[-1] == pytest.approx(0.02, abs=1e-6)


def test_config_round_trip():
    schedule = CosineNoiseSchedule(0.1, 0.9)
    again = CosineNoiseSchedule.from_config(schedule.get_config())
    assert again.get_config() == {"min_signal_rate": 0.1, "max_signal_rate": 0.9}


@pytest.mark.parametrize("low, high", [(0.0, 0.9), (0.5, 0.4), (0.1, 1.0)])
def test_bad_rates(low, high):
    with pytest.raises(ParameterError, match="signal_rate"):
        CosineNoiseSchedule(low, high)
