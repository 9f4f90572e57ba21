"""The pipeline's clip levels and their summary, and the CLI that gives them to older folders (preprocessing.measure_levels)."""

import json

import numpy as np

from preprocessing import measure_levels
from preprocessing.loudness import LEVELS_KEY, summarise_levels
from preprocessing.measure_levels import measure_clip_levels
from preprocessing.normaliser import load_normaliser
from preprocessing.dataset_folder import DatasetFolder
from tests.generate.score_roll_run import roll_run  # noqa: F401 (a fixture)


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



def test_a_roll_data_set_is_measured_from_its_renderings_and_the_limiter_then_keeps_that_level(roll_run, tmp_path, capsys):
    """A roll data set has no audio clips: its train clips are rendered (at most --max-clips), and a model
    given the summary limits its renderings to the data's level instead of the fixed -18 dBFS. The pipeline
    measures a new roll data set that way itself; measure_levels gives the summary to older ones."""
    import shutil

    from generate.trained_model import TrainedModel
    from preprocessing.loudness import rms_dbfs

    run_dir, data_dir = roll_run
    data = DatasetFolder(data_dir)
    rows = data.split_rows("train")
    written = json.loads(data.normalisation_path.read_text())[LEVELS_KEY]  # by the pipeline: every train clip
    assert written["clips"] == len(rows) and written["max"] > -18.0
    model = tmp_path / "model"
    shutil.copytree(run_dir, model)
    assert TrainedModel(model).sound_generator.limiter.describe()["rms_ceiling_dbfs"] == written["p95"]
    statistics = json.loads((model / "normalisation.json").read_text())
    del statistics[LEVELS_KEY]  # a model saved before the pipeline measured rolls
    (model / "normalisation.json").write_text(json.dumps(statistics))
    assert measure_levels.main([str(data_dir), "--into", str(model), "--max-clips", "3"]) == 0
    summary = json.loads((model / "normalisation.json").read_text())[LEVELS_KEY]
    assert summary["clips"] == 3 < len(rows)
    first = rms_dbfs(data.transform.invert(data.read_clip(data.clip_path(rows[0]["path"]))))
    assert -30.0 < first <= summary["max"] + 0.005 and summary["max"] > -18.0  # the renderings are louder than the fixed level
    limiter = TrainedModel(model).sound_generator.limiter.describe()
    assert limiter["reference"] != "fixed" and limiter["rms_ceiling_dbfs"] == summary["p95"]
    assert measure_levels.main([str(data_dir), "--max-clips", "0"]) == 2
    assert "max_clips=0" in capsys.readouterr().err
