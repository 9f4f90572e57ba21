"""models.samplers.base: argument checks, per-sample seeded noise and the time grids."""

import numpy as np
import pytest
from keras import ops

from common.errors import ParameterError
from models.noise_schedule import CosineNoiseSchedule
from models.samplers import Sampler, SeededNoise, check_eta, check_steps


@pytest.mark.parametrize("steps", [1, 7, np.int64(3)])
def test_check_steps_accepts_positive_integers(steps):
    assert check_steps(steps) == int(steps) and isinstance(check_steps(steps), int)


@pytest.mark.parametrize("steps", [0, -2, 2.5, 3.0, True, "3", None])
def test_check_steps_names_the_bad_value(steps):
    with pytest.raises(ParameterError, match=rf"Received: diffusion_steps={steps!r}$"):
        check_steps(steps)
    with pytest.raises(ParameterError, match=rf"Received: resample={steps!r}$"):
        check_steps(steps, "resample")


@pytest.mark.parametrize("eta", [0, 0.0, 0.3, 1, np.float32(1.0)])
def test_check_eta_accepts_zero_to_one(eta):
    assert check_eta(eta) == float(eta)


@pytest.mark.parametrize("eta", [-0.1, 1.5, float("nan"), "0.5", True, None])
def test_check_eta_names_the_bad_value(eta):
    with pytest.raises(ParameterError, match=r"eta must be a number in \[0, 1\]\. Received: eta="):
        check_eta(eta)


def test_seeded_noise_is_reproducible_per_sample():
    both = SeededNoise([3, 4], (2, 5, 1))
    alone = SeededNoise([4], (2, 5, 1))
    for _ in range(3):  # the i-th draw of sample 4 is the same in both
        a, b = ops.convert_to_numpy(both.draw()), ops.convert_to_numpy(alone.draw())
        assert a.shape == (2, 2, 5, 1) and a.dtype == np.float32
        np.testing.assert_array_equal(a[1], b[0])
        assert not np.array_equal(a[0], a[1])
    first = np.random.default_rng(3).standard_normal((2, 5, 1)).astype("float32")
    np.testing.assert_array_equal(ops.convert_to_numpy(SeededNoise([3], (2, 5, 1)).draw())[0], first)


def test_seeded_noise_subset_shares_the_generators():
    noise = SeededNoise([0, 1, 2], (4,))
    part = noise.subset(1, 3)
    assert len(part) == 2 and part.seeds == [1, 2]
    drawn = ops.convert_to_numpy(part.draw())  # advances samples 1 and 2 only
    rest = ops.convert_to_numpy(noise.draw())
    np.testing.assert_array_equal(rest[0], np.random.default_rng(0).standard_normal(4).astype("float32"))
    second = np.random.default_rng(1)
    np.testing.assert_array_equal(drawn[0], second.standard_normal(4).astype("float32"))
    np.testing.assert_array_equal(rest[1], second.standard_normal(4).astype("float32"))


def test_seeded_noise_bad_seeds():
    with pytest.raises(ParameterError, match=r"one seed per sample \(3\)\. Received: seeds=\[1, 2\]"):
        SeededNoise([1, 2], (4,), count=3)
    with pytest.raises(ParameterError, match=r"Received: seeds=\[\]"):
        SeededNoise([], (4,))
    with pytest.raises(ParameterError, match=r"must be integers\. Received: seeds=\[1, 'x'\]"):
        SeededNoise([1, "x"], (4,))


def test_time_grids():
    sampler = Sampler(CosineNoiseSchedule(), 4)
    reverse = [(ops.convert_to_numpy(t), ops.convert_to_numpy(n)) for t, n in sampler.reverse_times(2)]
    forward = [(ops.convert_to_numpy(t), ops.convert_to_numpy(n)) for t, n in sampler.forward_times(2)]
    assert all(t.shape == (2, 1, 1, 1) and n.shape == (2, 1, 1, 1) for t, n in reverse + forward)
    np.testing.assert_allclose([t[0, 0, 0, 0] for t, _ in reverse], [1.0, 0.75, 0.5, 0.25])
    np.testing.assert_allclose([n[0, 0, 0, 0] for _, n in reverse], [0.75, 0.5, 0.25, 0.0], atol=1e-7)
    np.testing.assert_allclose([t[0, 0, 0, 0] for t, _ in forward], [0.0, 0.25, 0.5, 0.75])
    np.testing.assert_allclose([n[0, 0, 0, 0] for _, n in forward], [0.25, 0.5, 0.75, 1.0])
    with pytest.raises(NotImplementedError):
        sampler.sample(None, None)
    with pytest.raises(ParameterError, match="Received: diffusion_steps=0"):
        Sampler(CosineNoiseSchedule(), 0)
