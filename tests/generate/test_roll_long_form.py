"""Long pieces and continuations of a score-roll DDIM from the CLI: windows on the bar grid, the prompt kept, MIDI and WAV out."""

import json

import numpy as np
import pytest
import soundfile as sf

from generate import sounds
from generate.roll_long_form import piece_clips
from preprocessing.note_grid import notes_to_roll
from preprocessing.transform_io import load_transform
from tests.generate.score_roll_run import chorale_like, roll_run, write_midi  # noqa: F401 (roll_run: a fixture)


def read_roll(transform, path, n_steps):
    return notes_to_roll(transform.notes(path), n_steps, transform.lowest_pitch, transform.highest_pitch)


def test_a_long_piece_is_outpainted_on_the_beat_grid_and_written_as_midi_and_wav(roll_run, tmp_path):
    run_dir, _ = roll_run
    out = tmp_path / "long.wav"
    assert sounds.main(["long", "--model", str(run_dir), "--duration", "6", "--steps", "1", "--out", str(out)]) == 0
    transform = load_transform(run_dir / "transform.json")
    report = json.loads(out.with_suffix(".json").read_text())
    n_steps = int(round(6 / transform.step_s))
    assert report["n_steps"] == n_steps and report["prompt_steps"] == 0
    grid = report["window_grid_steps"]
    assert grid in (report["steps_per_bar"], transform.steps_per_quarter) and grid > 1
    assert report["windows"] == len(report["window_plan"]) >= 3
    assert all(start % grid == 0 for start, _ in report["window_plan"])
    audio, sample_rate = sf.read(out)
    assert sample_rate == transform.sample_rate and len(audio) == transform.samples_for(n_steps)
    assert np.isfinite(audio).all()
    assert transform.notes(out.with_suffix(".mid")).shape[1] == 3
    assert report["measures"]["clips"] >= 1 and out.with_suffix(".html").is_file()


def test_a_continuation_keeps_the_prompt_and_adds_the_duration(roll_run, tmp_path):
    run_dir, _ = roll_run
    transform = load_transform(run_dir / "transform.json")
    prompt = write_midi(tmp_path / "prompt.mid", chorale_like(6.0))  # 48 sixteenths, three bars
    out = tmp_path / "continued.wav"
    argv = ["continue", "--model", str(run_dir), "--input", str(prompt), "--duration", "2", "--steps", "1", "--out", str(out)]
    assert sounds.main(argv + ["--prompt-bars", "2"]) == 0
    report = json.loads(out.with_suffix(".json").read_text())
    assert (report["prompt_steps"], report["n_steps"], report["steps_per_bar"]) == (32, 48, 16)
    given = read_roll(transform, prompt, 48)
    written = read_roll(transform, out.with_suffix(".mid"), 48)
    np.testing.assert_array_equal(written[:, :32], given[:, :32])
    assert all(first >= 32 for _, first in report["window_plan"])  # no window rewrites the prompt
    assert not (tmp_path / "continued_original.wav").exists()  # a file has no reference continuation
    assert sounds.main(argv) == 0  # after the whole file
    assert json.loads(out.with_suffix(".json").read_text())["prompt_steps"] == 48


def test_a_test_chorale_continued_after_its_first_bar_is_written_beside_its_own_continuation(roll_run, tmp_path):
    run_dir, _ = roll_run
    out = tmp_path / "c.wav"
    assert sounds.main(["continue", "--model", str(run_dir), "--input", "test:0", "--prompt-bars", "1",
                        "--duration", "1", "--steps", "1", "--out", str(out)]) == 0
    report = json.loads(out.with_suffix(".json").read_text())
    assert report["input"].startswith("piece") and report["original_measures"]["clips"] >= 1
    assert (tmp_path / "c_original.wav").is_file() and (tmp_path / "c_original.mid").is_file()


@pytest.mark.parametrize(
    "argv, received",
    [
        (["inpaint", "--input", "x.mid", "--gap", "0", "1"], "--fill-bars"),
        (["loop"], "mode='loop'"),
        (["long", "--eta", "0.5"], "eta=0.5"),
        (["continue", "--input", "PROMPT", "--prompt-bars", "3"], "prompt_bars=3"),  # all of the file's three bars
        (["continue", "--input", "PROMPT", "--prompt-bars", "0"], "prompt_bars=0"),
        (["continue", "--input", "missing.mid"], "missing.mid"),
        (["continue", "--input", "test:99"], "input='test:99'"),
    ],
)
def test_bad_modes_and_prompts_are_one_error_naming_the_value(roll_run, tmp_path, capsys, argv, received):
    run_dir, _ = roll_run
    prompt = str(write_midi(tmp_path / "prompt.mid", chorale_like(6.0)))
    argv = [prompt if a == "PROMPT" else a for a in argv]
    assert sounds.main(argv[:1] + ["--model", str(run_dir), "--out", str(tmp_path / "o.wav")] + argv[1:]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and received in error[0]
    assert not (tmp_path / "o.wav").exists()


def test_prompt_bars_is_refused_for_an_audio_model(runs, tmp_path, capsys):
    assert sounds.main(["continue", "--model", str(runs / "ddim"), "--input", "x.wav", "--prompt-bars", "2"]) == 2
    assert "prompt_bars=2" in capsys.readouterr().err


def test_piece_clips_cut_notes_at_the_clip_ends():
    notes = np.array([[60, 0, 20], [64, 10, 12], [67, 30, 40]])
    clips = piece_clips(notes, 40, 16)
    assert [steps for _, steps in clips] == [16, 16]  # the last 8 steps make no whole clip
    np.testing.assert_array_equal(clips[0][0], [[60, 0, 16], [64, 10, 12]])
    np.testing.assert_array_equal(clips[1][0], [[60, 0, 4], [67, 14, 16]])


def test_a_three_four_prompt_is_continued_with_every_window_on_its_grid(roll_run, tmp_path):
    import pretty_midi

    run_dir, _ = roll_run
    path = write_midi(tmp_path / "waltz.mid", chorale_like(6.0))
    midi = pretty_midi.PrettyMIDI(str(path))
    midi.time_signature_changes = [pretty_midi.TimeSignature(3, 4, 0.0)]
    midi.write(str(path))
    out = tmp_path / "w.wav"
    assert sounds.main(["continue", "--model", str(run_dir), "--input", str(path), "--prompt-bars", "2",
                        "--duration", "3.1", "--steps", "1", "--resample", "2", "--out", str(out)]) == 0
    report = json.loads(out.with_suffix(".json").read_text())
    assert report["steps_per_bar"] == 12 and report["prompt_steps"] == 24 and report["resample"] == 2
    assert all(start % report["window_grid_steps"] == 0 for start, _ in report["window_plan"])
    assert report["n_steps"] == 24 + 25 and report["keys"]["prompt"] is not None
