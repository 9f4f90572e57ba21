"""CPU smoke tests of ``python -m generate.evaluate`` on the tiny trained runs."""

import json
import math

import numpy as np
import pytest

from common.errors import ParameterError
from generate import evaluate
from tests.generate.score_roll_run import roll_run  # noqa: F401 (a fixture)


def test_evaluate_scores_both_models_with_floor_and_ceilings(runs, tmp_path, capsys):
    out = tmp_path / "eval"
    argv = ["--model", str(runs / "ddim"), str(runs / "ae"), "--num", "3", "--steps", "2",
            "--patch-seconds", "1", "--no-statistics", "--out", str(out)]
    assert evaluate.main(argv) == 0
    report = json.loads((out / "evaluation.json").read_text())
    rows = {row["name"]: row for row in report["rows"]}
    assert report["n_per_set"] == 3 and len(rows) == 6
    assert {report["limiter"][str(runs / name)]["reference"] for name in ("ddim", "ae")} <= {"model", "data set", "fixed"}
    assert [row["role"] for row in report["rows"]] == ["floor", "ceiling", "ceiling", "ceiling", "model", "model"]
    for row in report["rows"]:
        assert row["n_reference"] == row["n_candidate"] == 3
        assert row["fad"] is None  # 3 clips < 200 dimensions: FAD is not reported, KID is
        assert math.isfinite(row["kid"]) and row["kid_std"] >= 0
    ddim = rows["ddim (DDIM, 2 steps)"]
    assert ddim["diffusion_steps"] == 2 and ddim["real_time_factor"] > 0 and "ssim" not in ddim
    autoencoder = rows["ae (reconstructions of half B)"]
    inversion = rows["real through the representation (32 GL it.)"]
    for row in (autoencoder, inversion):
        assert -1 <= row["ssim"] <= 1 and row["mse"] >= 0
    assert inversion["ssim"] > autoencoder["ssim"]  # an untrained autoencoder is worse than the inversion alone
    page = (out / "index.html").read_text()  # the listening page: 3 players for half A and for each of the 6 rows
    assert page.count("<audio") == 7 * 3 == len(list((out / "clips").glob("*.wav"))) and "floor" in page
    assert "FAD needs more than 200" in capsys.readouterr().out
    # 3 held-out clips are too few for the memorisation threshold: skipped, and said so
    assert "needs at least 20" in report["memorisation"]["skipped"]


def test_draws_sample_each_ddim_on_other_seeds_and_give_the_spread(runs, tmp_path, capsys):
    """--draws 3: three DDIM rows on disjoint seeds against one half A, their KID mean and spread; one autoencoder row."""
    out = tmp_path / "eval"
    argv = ["--model", str(runs / "ddim"), str(runs / "ae"), "--num", "3", "--steps", "2", "--draws", "3",
            "--patch-seconds", "1", "--no-statistics", "--out", str(out)]
    assert evaluate.main(argv) == 0
    report = json.loads((out / "evaluation.json").read_text())
    draws = [row for row in report["rows"] if row["name"].startswith("ddim")]
    assert [row["draw"] for row in draws] == [0, 1, 2] and len(report["rows"]) == 4 + 3 + 1
    assert [row["first_seed"] for row in draws] == [0, evaluate.DRAW_SEED_STRIDE, 2 * evaluate.DRAW_SEED_STRIDE]
    kids = [row["kid"] for row in draws]
    assert len(set(kids)) == 3  # other seeds, other samples
    (summary,) = report["draws"]
    assert summary["model_dir"] == str(runs / "ddim") and summary["draws"] == 3 and summary["fad_mean"] is None
    assert summary["kid_mean"] == pytest.approx(np.mean(kids)) and summary["kid_std"] == pytest.approx(np.std(kids, ddof=1))
    assert "ddim over 3 draws of sample seeds: FAD - (too few clips), KID" in capsys.readouterr().out


def test_evaluate_checks_memorisation_against_the_training_clips(runs, tmp_path):
    """With enough held-out clips every model row gets its nearest-training-clip distances and a plot."""
    from tests.conftest import tiny_preprocess_config, write_tones
    from preprocessing.pipeline import PreprocessingPipeline

    audio = write_tones(tmp_path / "audio", count=40, seconds=3.0)
    data = tmp_path / "data"
    PreprocessingPipeline(tiny_preprocess_config(audio, data)).run(progress=False)
    out = tmp_path / "eval"
    argv = ["--model", str(runs / "ddim"), "--data", str(data), "--num", "24", "--steps", "2",
            "--patch-seconds", "1", "--no-statistics", "--train-clips", "30", "--out", str(out)]
    assert evaluate.main(argv) == 0
    memorisation = json.loads((out / "evaluation.json").read_text())["memorisation"]
    assert memorisation["n_train"] == 30 and (out / "memorisation.png").is_file()
    (row,) = memorisation["rows"]
    assert row["name"].startswith("ddim") and row["n_heldout"] == 24 and row["n_generated"] == 24
    assert row["generated"]["p50"] > 0 and row["heldout"]["p50"] > 0 and 0 <= row["mannwhitney_p"] <= 1
    assert "distances" not in row  # kept out of the JSON rows; drawn in the plot


def test_evaluate_reads_a_folder_of_real_music(runs, tiny_dataset, tmp_path):
    out = tmp_path / "eval"
    argv = ["--model", str(runs / "ae"), "--reference", str(tiny_dataset.parent / "audio"), "--num", "4",
            "--patch-seconds", "1", "--out", str(out)]
    assert evaluate.main(argv) == 0
    report = json.loads((out / "evaluation.json").read_text())
    assert report["real_clips"].startswith("folder") and report["n_per_set"] == 4
    assert report["rows"][0]["rms_db"] < 0 and report["reference_statistics"]["onsets_per_s"] >= 0


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--num", "-1"], "num=-1"),
        (["--patch-seconds", "3"], "patch_seconds=3.0"),
        (["--data", "nowhere"], "data_dir='nowhere'"),
        (["--steps", "0"], "steps=0"),
        (["--train-clips", "-1"], "train_clips=-1"),
        (["--draws", "0"], "draws=0"),
    ],
)
def test_evaluate_bad_input_exits_2_naming_the_value(runs, tmp_path, capsys, extra, message):
    out = tmp_path / "eval"
    assert evaluate.main(["--model", str(runs / "ae"), "--patch-seconds", "1", "--out", str(out), *extra][: None]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_a_score_roll_model_is_scored_against_its_held_out_rolls_rendered(roll_run, tiny_dataset, tmp_path):
    run_dir, data_dir = roll_run
    out = tmp_path / "eval"
    argv = ["--model", str(run_dir), "--num", "3", "--steps", "2", "--patch-seconds", "1", "--no-statistics",
            "--train-clips", "0", "--out", str(out)]
    assert evaluate.main(argv) == 0
    report = json.loads((out / "evaluation.json").read_text())
    # no "through the representation" row: the real clips are the rolls rendered by the same transform
    assert [row["role"] for row in report["rows"]] == ["floor", "ceiling", "ceiling", "model"]
    assert report["n_per_set"] == 3 and report["clip_seconds"] == 2.0 and math.isfinite(report["rows"][0]["kid"])
    # or against a folder of recordings, cut into its 2 s clips
    argv = ["--model", str(run_dir), "--reference", str(tiny_dataset.parent / "audio"), "--num", "3", "--steps", "2",
            "--patch-seconds", "1", "--no-statistics", "--out", str(tmp_path / "folder")]
    assert evaluate.main(argv) == 0
    report = json.loads((tmp_path / "folder" / "evaluation.json").read_text())
    assert report["real_clips"].startswith("folder") and report["n_per_set"] == 3


def test_models_of_two_representations_are_scored_against_the_first_models_real_clips(runs, roll_run, tmp_path, capsys):
    """An audio DDIM (1.024 s clips) and a score-roll DDIM (2 s) on one reference: the roll's samples are cut."""
    run_dir, _ = roll_run
    out = tmp_path / "eval"
    argv = ["--model", str(runs / "ddim"), str(run_dir), "--num", "3", "--steps", "2", "--patch-seconds", "1",
            "--no-statistics", "--train-clips", "0", "--out", str(out)]
    assert evaluate.main(argv) == 0
    report = json.loads((out / "evaluation.json").read_text())
    assert report["clip_seconds"] == 1.024 and report["real_clips"].startswith("dataset")
    roll = report["rows"][-1]
    assert roll["name"].startswith(run_dir.name) and roll["cut_from_seconds"] == 2.0 and roll["n_candidate"] == 3
    assert "cut_from_seconds" not in report["rows"][-2] and "central 1.024 s" in capsys.readouterr().out
    # the model with the longer clips first: the other's are too short to cut, and the message says which
    argv = ["--model", str(run_dir), str(runs / "ddim"), "--num", "3", "--patch-seconds", "1", "--out", str(out / "x")]
    assert evaluate.main(argv) == 2
    assert "clip_samples=" in capsys.readouterr().err and not (out / "x").exists()


@pytest.mark.parametrize("size, length, expected", [(10, 4, [3, 4, 5, 6]), (9, 4, [2, 3, 4, 5]), (4, 4, [0, 1, 2, 3])])
def test_a_longer_clip_is_scored_on_its_central_part(size, length, expected):
    """The window is the middle one (an odd surplus leaves the extra sample at the end), not the first or last."""
    assert evaluate.central_part(np.arange(size), length).tolist() == expected


@pytest.mark.parametrize("length", [0, 11])
def test_a_central_part_longer_than_the_clip_or_empty_is_refused(length):
    with pytest.raises(ParameterError, match=f"length={length}"):
        evaluate.central_part(np.arange(10), length)
