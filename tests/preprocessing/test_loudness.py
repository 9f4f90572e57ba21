"""Clip levels in dBFS and their summary (preprocessing.loudness)."""

import json

import numpy as np
import pytest

from common.errors import ParameterError
from preprocessing import loudness
from preprocessing.loudness import LEVELS_KEY, add_level_summary, peak_dbfs, read_level_summary, rms_dbfs, summarise_levels


def test_levels_of_known_signals():
    t = np.arange(16000) / 16000
    assert rms_dbfs(np.sin(2 * np.pi * 100 * t)) == pytest.approx(-3.0103, abs=1e-3)  # full-scale sine
    assert rms_dbfs(np.full(100, 0.5)) == pytest.approx(-6.0206, abs=1e-4)
    assert peak_dbfs(np.array([0.0, -0.5, 0.25])) == pytest.approx(-6.0206, abs=1e-4)
    assert rms_dbfs(np.zeros(10)) == peak_dbfs(np.zeros(10)) == loudness.FLOOR_DBFS


@pytest.mark.parametrize("bad", [np.zeros((2, 3)), np.zeros(0), np.array([1, 2]), np.array([0.0, np.nan])])
def test_bad_audio_is_refused(bad):
    with pytest.raises(ParameterError, match="Received"):
        rms_dbfs(bad)


def test_summary_and_bad_summaries(tmp_path):
    summary = summarise_levels([-30.0, -20.0, -10.0, -25.0])
    assert summary == {"split": "train", "clips": 4, "median": -22.5, "p95": -11.5, "max": -10.0}
    with pytest.raises(ParameterError, match="no clips"):
        summarise_levels([])
    path = tmp_path / "normalisation.json"
    path.write_text(json.dumps({"min_value": -80.0, "max_value": 0.0}))
    assert read_level_summary(path) is None
    add_level_summary(path, summary)
    assert json.loads(path.read_text()) == {"min_value": -80.0, "max_value": 0.0, LEVELS_KEY: summary}
    assert read_level_summary(path) == summary
    path.write_text(json.dumps({"min_value": -80.0, "max_value": 0.0, LEVELS_KEY: {"median": -20.0}}))
    with pytest.raises(ParameterError, match="p95"):
        read_level_summary(path)
