"""Regenerating bars from the CLI: a tiny score-roll DDIM refills the chosen bars, keeps the rest, names bad input."""

import json

import numpy as np
import pytest
import soundfile as sf

from evaluation.harmonisation import span_measures
from generate import sounds
from preprocessing.note_grid import notes_to_roll
from preprocessing.transform_io import load_transform
from tests.generate.score_roll_run import chorale_like, roll_run, write_midi  # noqa: F401 (roll_run: a fixture)


def test_the_chosen_bar_is_regenerated_and_the_others_kept(roll_run, tmp_path):
    run_dir, _ = roll_run
    path = write_midi(tmp_path / "piece.mid", chorale_like(6.0))  # 48 sixteenths: three 4/4 bars
    out = tmp_path / "out"
    argv = ["--model", str(run_dir), "--fill-bars", "1", "1", "--piece", str(path), "--num", "2", "--steps", "2",
            "--resample", "1", "--out", str(out)]
    assert sounds.main(argv) == 0
    report = json.loads((out / "report.json").read_text())
    assert (report["steps_per_bar"], report["span_steps"], report["n_steps"], report["lead_steps"]) == (16, [16, 32], 48, 0)
    assert report["span_seconds"] == [2.0, 4.0] and report["original"]["span_same"] == 1.0
    transform = load_transform(run_dir / "transform.json")
    rows = (transform.lowest_pitch, transform.highest_pitch)
    original = notes_to_roll(transform.notes(out / "original.mid"), 48, *rows)
    assert original[..., 1].sum() > 0
    outside = np.r_[0:16, 32:48]
    for i in range(2):
        filled = notes_to_roll(transform.notes(out / f"filled_{i:02d}.mid"), 48, *rows)
        np.testing.assert_array_equal(filled[:, outside], original[:, outside])  # the other bars are kept
        audio, sample_rate = sf.read(out / f"filled_{i:02d}.wav")
        assert sample_rate == 8000 and audio.shape == (transform.samples_for(48),) and np.all(np.isfinite(audio))
        assert 0.0 <= report["measures"][i]["span_same"] <= 1.0
    page = (out / "index.html").read_text()
    assert all(f'src="filled_{i:02d}.wav"' in page for i in range(2)) and 'src="original.wav"' in page
    assert 'href="original.mid"' in page and (out / "comparison.png").stat().st_size > 1000


def test_a_test_split_chorale_has_its_bars_regenerated(roll_run, tmp_path):
    run_dir, _ = roll_run
    out = tmp_path / "out"
    assert sounds.main(["--model", str(run_dir), "--fill-bars", "0", "1", "--piece", "test:0", "--num", "1",
                        "--steps", "1", "--resample", "1", "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["piece"].startswith("piece") and report["span_steps"] == [0, 16] and report["n_steps"] > 16
    assert (out / "filled_00.mid").is_file() and (out / "original.wav").is_file()


@pytest.mark.parametrize(
    "bars, piece, received",
    [
        (["5", "1"], "file", "start_bar=5"),  # after the piece's three bars: covers nothing
        (["0", "3"], "file", "n_bars=3"),  # all three bars: covers everything
        (["0", "0"], "file", "n_bars=0"),
        (["1", "1"], None, "piece=None"),
        (["1", "1"], "test:99", "piece='test:99'"),
    ],
)
def test_bad_spans_and_pieces_are_one_error_naming_the_value(roll_run, tmp_path, capsys, bars, piece, received):
    run_dir, _ = roll_run
    if piece == "file":
        piece = str(write_midi(tmp_path / "piece.mid", chorale_like(6.0)))
    argv = ["--model", str(run_dir), "--fill-bars", *bars, "--out", str(tmp_path / "out")]
    assert sounds.main(argv + (["--piece", piece] if piece else [])) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and error[0].startswith("error: ") and received in error[0]
    assert not (tmp_path / "out").exists()


def test_only_a_score_roll_ddim_regenerates_bars(runs, tmp_path, capsys):
    assert sounds.main(["--model", str(runs / "ddim"), "--fill-bars", "0", "1", "--piece", "test:0"]) == 2
    assert "--fill-bars needs a DDIM trained on score rolls" in capsys.readouterr().err
    assert sounds.main(["--model", str(runs / "ddim"), "--fill-bars", "0", "1", "--harmonise", "test:0"]) == 2
    assert "not both" in capsys.readouterr().err


def test_span_measures_compare_the_bars_with_the_original():
    original = np.array([[60, 0, 8], [64, 0, 8], [67, 0, 8], [72, 8, 16], [76, 8, 16], [79, 8, 16]])
    same = span_measures(original, original, 8, 16)
    assert same["span_same"] == 1.0 and same["span_notes"] == 3 and same["span_voices"] == 3.0 and same["span_in_key"]
    changed = np.array([[60, 0, 8], [64, 0, 8], [67, 0, 8], [73, 8, 12]])
    measures = span_measures(changed, original, 8, 16)
    assert measures["span_notes"] == 1 and measures["span_voices"] == 0.5 and measures["span_same"] == 0.0
