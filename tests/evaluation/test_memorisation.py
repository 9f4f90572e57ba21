"""Nearest-neighbour memorisation check (evaluation/memorisation.py)."""

import numpy as np
import pytest

from common.errors import ParameterError
from evaluation.memorisation import COPY_QUANTILE, memorisation_report, memorisation_table, nearest_train_distances


def _points(n, seed, dims=16):
    return np.random.default_rng(seed).standard_normal((n, dims))


def test_distances_are_to_the_nearest_training_point():
    train = np.array([[0.0, 0.0], [10.0, 0.0]])
    np.testing.assert_allclose(nearest_train_distances(train, [[1.0, 0.0], [10.0, 3.0]]), [1.0, 3.0])


def test_a_copier_is_caught_and_fresh_samples_are_not():
    train, heldout = _points(500, 0), _points(200, 1)
    copies = train[:100] + 0.01 * _points(100, 2)  # training clips, barely changed
    fresh = _points(100, 3)  # new draws from the same distribution
    copier = memorisation_report(train, heldout, copies)
    honest = memorisation_report(train, heldout, fresh)
    assert copier["median_ratio"] < 0.1 and copier["near_copy_share"] > 0.9 and copier["mannwhitney_p"] < 1e-6
    assert 0.8 < honest["median_ratio"] < 1.25 and honest["near_copy_share"] < 0.12 and honest["mannwhitney_p"] > 0.01
    # the threshold is the held-out distances' COPY_QUANTILE quantile
    heldout_distances = np.asarray(honest["distances"]["heldout"])
    assert np.mean(heldout_distances < honest["copy_threshold"]) <= COPY_QUANTILE + 1e-9
    assert honest["n_train"] == 500 and honest["n_heldout"] == 200 and honest["n_generated"] == 100


@pytest.mark.parametrize(
    "train, heldout, generated, match",
    [
        (_points(50, 0), _points(10, 1), _points(5, 2), "at least 20 held-out"),
        (_points(50, 0), _points(30, 1), _points(5, 2, dims=8), "training set's dims"),
        (_points(50, 0), _points(30, 1), np.full((3, 16), np.nan), "finite 2-D"),
    ],
)
def test_bad_input_is_refused(train, heldout, generated, match):
    with pytest.raises(ParameterError, match=match):
        memorisation_report(train, heldout, generated)


def test_the_table_prints_whole_names_so_that_draws_of_one_model_stay_apart():
    stats = {"p50": 1.9}
    rows = [{"name": f"chorales_score_roll_ddim (dpm++2m, 10 steps, best of 4), draw {d} of 2", "generated": stats,
             "heldout": {"p50": 1.8}, "median_ratio": 1.06, "near_copies": 3, "near_copy_share": 0.01,
             "mannwhitney_p": 1.0} for d in (1, 2)]
    lines = memorisation_table(rows, 500).splitlines()
    assert lines[-2].startswith(rows[0]["name"]) and lines[-1].startswith(rows[1]["name"])
    assert len({len(line) for line in lines[1:]}) == 1  # header and rows aligned
