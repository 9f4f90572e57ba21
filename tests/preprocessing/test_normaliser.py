"""Tests for preprocessing.normaliser."""

import json

import numpy as np
import pytest

from common.errors import ParameterError
from preprocessing.normaliser import MinMaxNormaliser, load_normaliser
from preprocessing.saver import Saver


def test_normalise_maps_range_to_unit_interval():
    normaliser = MinMaxNormaliser(-80.0, 40.0)
    x = np.array([[-80.0, -20.0, 40.0]], dtype=np.float32)
    y = normaliser.normalise(x)
    assert y.dtype == np.float32 and y.shape == (1, 3)
    np.testing.assert_allclose(y, [[0.0, 0.5, 1.0]], atol=1e-7)


def test_normalise_clips_outside_range():
    y = MinMaxNormaliser(-80.0, 40.0).normalise(np.array([-100.0, 60.0]))
    np.testing.assert_array_equal(y, [0.0, 1.0])


def test_denormalise_inverts_normalise():
    normaliser = MinMaxNormaliser(-80.0, 47.5)
    x = np.random.default_rng(0).uniform(-80.0, 47.5, size=(512, 192)).astype(np.float32)
    np.testing.assert_allclose(normaliser.denormalise(normaliser.normalise(x)), x, atol=1e-4)
    y = np.linspace(0, 1, 11, dtype=np.float32)
    np.testing.assert_allclose(normaliser.normalise(normaliser.denormalise(y)), y, atol=1e-6)


def test_denormalise_clips_by_default():
    normaliser = MinMaxNormaliser(-80.0, 40.0)
    np.testing.assert_allclose(normaliser.denormalise(np.array([-0.5, 1.5])), [-80.0, 40.0])
    np.testing.assert_allclose(normaliser.denormalise(np.array([1.5]), clip=False), [100.0])


def test_fit_takes_extremes():
    normaliser = MinMaxNormaliser.fit([-70.0, -80.0, -75.0], [30.0, 45.0, 40.0])
    assert (normaliser.min_value, normaliser.max_value) == (-80.0, 45.0)


def test_config_round_trip_and_file(tmp_path):
    normaliser = MinMaxNormaliser(-80.0, 42.25)
    assert MinMaxNormaliser.from_config(normaliser.get_config()).get_config() == normaliser.get_config()
    path = Saver(tmp_path).save_normaliser(normaliser)
    assert json.loads(path.read_text()) == {"min_value": -80.0, "max_value": 42.25}
    assert load_normaliser(path).get_config() == normaliser.get_config()
    with pytest.raises(ParameterError, match="not found"):
        load_normaliser(tmp_path / "missing.json")


@pytest.mark.parametrize(
    "min_value, max_value, name",
    [(0.0, 0.0, "max_value"), (1.0, -1.0, "max_value"), (np.nan, 1.0, "min_value"), (0.0, np.inf, "max_value")],
)
def test_bad_statistics(min_value, max_value, name):
    with pytest.raises(ParameterError, match=f"Received: {name}="):
        MinMaxNormaliser(min_value, max_value)


def test_bad_fit_and_input():
    with pytest.raises(ParameterError, match="no clips"):
        MinMaxNormaliser.fit([], [])
    with pytest.raises(ParameterError, match="minima holds non-finite"):
        MinMaxNormaliser.fit([np.nan], [1.0])
    with pytest.raises(ParameterError, match="non-finite"):
        MinMaxNormaliser(0.0, 1.0).normalise(np.array([np.nan]))
    with pytest.raises(ParameterError, match="Bad MinMaxNormaliser config"):
        MinMaxNormaliser.from_config({"min_value": 0.0})
