"""The pipeline's clip levels and their summary, and the CLI that gives them to older folders (preprocessing.measure_levels)."""

import json

import numpy as np

from preprocessing import measure_levels
from preprocessing.loudness import LEVELS_KEY, summarise_levels
from preprocessing.measure_levels import measure_clip_levels
from preprocessing.normaliser import load_normaliser
from preprocessing.dataset_folder import DatasetFolder


def test_pipeline_writes_clip_levels_and_their_summary(tiny_dataset):
    rows = DatasetFolder(tiny_dataset).rows
    train = [row["rms_dbfs"] for row in rows if row["split"] == "train"]
    assert all(isinstance(level, float) for level in train)
    # the manifest's level is the level of the clip's audio, measured again from the source file
    np.testing.assert_allclose(measure_clip_levels(tiny_dataset), train, atol=1e-3)
    assert -40.0 < min(train) < max(train) < -3.0
    payload = json.loads((tiny_dataset / "normalisation.json").read_text())
    assert payload[LEVELS_KEY] == summarise_levels(train)
    assert load_normaliser(tiny_dataset / "normalisation.json").get_config().keys() == {"min_value", "max_value"}


def test_cli_adds_the_summary_to_a_model_folder(tiny_dataset, tmp_path, capsys):
    old = tmp_path / "old_model"
    old.mkdir()
    statistics = load_normaliser(tiny_dataset / "normalisation.json").get_config()
    (old / "normalisation.json").write_text(json.dumps(statistics))
    assert measure_levels.main([str(tiny_dataset), "--into", str(old)]) == 0
    assert json.loads((old / "normalisation.json").read_text()) == json.loads((tiny_dataset / "normalisation.json").read_text())
    assert "p95" in capsys.readouterr().out

    other = tmp_path / "other_model"
    other.mkdir()
    (other / "normalisation.json").write_text(json.dumps({**statistics, "max_value": statistics["max_value"] + 1}))
    assert measure_levels.main([str(tiny_dataset), "--into", str(other)]) == 2
    assert "other_model" in capsys.readouterr().err
    assert LEVELS_KEY not in json.loads((other / "normalisation.json").read_text())

