"""Harmonisation from the CLI: a tiny score-roll DDIM keeps the melody on top, writes MIDI and WAV, names bad input."""

import json

import numpy as np
import pretty_midi
import pytest
import soundfile as sf

from generate import sounds
from generate.harmonise import choose_melody
from preprocessing.harmonisation import MAX_MELODY_STEPS
from preprocessing.transform_io import load_transform
from models.sampler_folder import load_sampler
from tests.generate.score_roll_run import (  # noqa: F401 (roll_run, mask_roll_run, voice_roll_run: fixtures)
    SATB,
    chorale_like,
    mask_roll_run,
    roll_run,
    voice_roll_run,
    write_midi,
)


def test_a_melody_file_is_harmonised_below_itself_window_after_window(roll_run, tmp_path):
    run_dir, _ = roll_run
    melody = [(76, 0, 6), (74, 6, 8), (72, 8, 16), (72, 16, 20), (71, 24, 32), (72, 32, 40)]  # 40 steps: 4 windows of 16
    path = write_midi(tmp_path / "melody.mid", {"melody": melody})
    out = tmp_path / "out"
    argv = ["--model", str(run_dir), "--harmonise", str(path), "--num", "2", "--steps", "2", "--out", str(out)]
    assert sounds.main(argv) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["n_steps"] == 40 and report["melody_notes"] == 6 and report["seeds"] == [0, 1]
    for measures in report["measures"]:  # the melody's cells and everything above them were known
        assert measures["melody_kept"] == 1.0 and measures["melody_on_top"] == 1.0
    transform = load_transform(run_dir / "transform.json")
    for i in range(2):
        audio, sample_rate = sf.read(out / f"harmonised_{i:02d}.wav")
        assert sample_rate == 8000 and audio.shape == (transform.samples_for(40),)
        assert np.all(np.isfinite(audio)) and np.abs(audio).max() > 0.01  # at least the melody sounds
        notes = transform.notes(out / f"harmonised_{i:02d}.mid")
        assert notes[:, 0].max() == 76 and notes[:, 2].max() <= 40  # nothing above the melody's highest note
    assert transform.notes(out / "melody.mid")[:, 0].tolist() == [p for p, _, _ in melody]
    assert (out / "comparison.png").stat().st_size > 1000 and not (out / "original.mid").exists()
    page = (out / "index.html").read_text()  # the listening page: a player and a spectrogram per WAV, no original
    assert all(f'src="harmonised_{i:02d}.wav"' in page and (out / f"harmonised_{i:02d}.png").is_file() for i in range(2))
    assert "original.wav" not in page and 'href="melody.mid"' in page


def test_a_test_split_chorale_is_harmonised_from_its_soprano_beside_the_original(roll_run, tmp_path):
    run_dir, data_dir = roll_run
    out = tmp_path / "out"
    assert sounds.main(["--model", str(run_dir), "--harmonise", "test:0", "--num", "1", "--steps", "2",
                        "--resample", "1", "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    transform = load_transform(run_dir / "transform.json")
    soprano, reference, name, lead_steps = choose_melody("test:0", transform, data_dir)
    assert report["melody"] == name and name.startswith("piece") and report["melody_notes"] == len(soprano)
    assert len(reference) == 1 and soprano[:, 0].min() >= 72  # a merged roll: every part in one array ...
    assert reference[0].shape[0] == 4 * len(soprano)  # ... four parts, the top one taken
    assert lead_steps == 0  # the pieces start on a bar line
    assert report["reference"]["melody_on_top"] == 1.0 and report["mean"]["key_agreement"] is not None
    assert (out / "original.mid").is_file() and sf.read(out / "original.wav")[0].shape == (transform.samples_for(report["n_steps"]),)
    page = (out / "index.html").read_text()
    assert 'src="harmonised_00.wav"' in page and 'src="original.wav"' in page and (out / "original.png").is_file()


@pytest.mark.parametrize(
    "melody, received",
    [
        ("garbage", "garbage.mid"),  # not a MIDI file: named
        ([(90, 0, 8)], "pitch=90"),  # above the model's rows (36-83)
        ([(60, 0, MAX_MELODY_STEPS + 8)], f"n_steps={MAX_MELODY_STEPS + 8}"),  # longer than the maximum
        ([(36, 0, 32)], "generated_fraction=0.0"),  # on the lowest row throughout: nothing left below to generate
        ("test:99", "harmonise='test:99'"),  # no such test piece
        ("test:bwv0", "harmonise='test:bwv0'"),
    ],
)
def test_bad_melodies_are_one_error_naming_the_value(roll_run, tmp_path, capsys, melody, received):
    run_dir, _ = roll_run
    if isinstance(melody, str) and melody.startswith("test:"):
        source = melody
    elif isinstance(melody, str):
        source = tmp_path / "garbage.mid"
        source.write_bytes(b"not a MIDI file")
    else:
        source = write_midi(tmp_path / "melody.mid", {"melody": melody})
    assert sounds.main(["--model", str(run_dir), "--harmonise", str(source), "--out", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and error[0].startswith("error: ") and received in error[0]
    assert not (tmp_path / "out").exists()


def test_a_chorale_file_needs_its_part_named(roll_run, tmp_path, capsys):
    run_dir, _ = roll_run
    path = write_midi(tmp_path / "satb.mid", chorale_like())
    assert sounds.main(["--model", str(run_dir), "--harmonise", str(path), "--out", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err
    assert "Received: part=None" in error and "'Soprano', 'Alto', 'Tenor', 'Bass'" in error
    assert sounds.main(["--model", str(run_dir), "--harmonise", str(path), "--part", "soprano", "--steps", "1",
                        "--resample", "1", "--num", "1", "--out", str(tmp_path / "out")]) == 0


def test_only_a_score_roll_ddim_harmonises(runs, tmp_path, capsys):
    assert sounds.main(["--model", str(runs / "ddim"), "--harmonise", "test:0", "--out", str(tmp_path / "out")]) == 2
    assert "Received: model=" in capsys.readouterr().err
    assert sounds.main(["--model", str(runs / "ddim"), "--harmonise", "test:0", "--resample", "0"]) == 2
    assert "Received: resample=0" in capsys.readouterr().err


def test_a_mask_conditioned_model_harmonises_continues_and_samples_from_the_cli(mask_roll_run, tmp_path):
    run_dir, _ = mask_roll_run
    model = load_sampler(run_dir)
    assert model.conditioning == "mask"
    assert [i.name for i in model.network.inputs][2:] == ["known_images", "known_mask"]
    melody = [(76, 0, 8), (74, 8, 16), (72, 16, 24)]
    path = write_midi(tmp_path / "melody.mid", {"melody": melody})
    out = tmp_path / "harmonised"
    assert sounds.main(["--model", str(run_dir), "--harmonise", str(path), "--num", "1", "--steps", "2",
                        "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["measures"][0]["melody_kept"] == 1.0 and report["measures"][0]["melody_on_top"] == 1.0
    out = tmp_path / "continued"
    assert sounds.main(["continue", "--model", str(run_dir), "--input", str(path), "--duration", "3",
                        "--out", str(out / "piece")]) == 0
    notes = load_transform(run_dir / "transform.json").notes(out / "piece.mid")
    assert {(p, s, e) for p, s, e in notes.tolist()} >= {tuple(n) for n in melody}  # the prompt is kept
    out = tmp_path / "sampled"  # nothing known: the unconditional model
    assert sounds.main(["--model", str(run_dir), "--num", "2", "--steps", "2", "--out", str(out)]) == 0
    assert len(list(out.glob("generated_*.mid"))) == 2


def test_a_voice_roll_model_harmonises_the_first_voice_fills_bars_continues_and_samples(voice_roll_run, tmp_path):
    from preprocessing.note_grid import grid_notes

    run_dir, data_dir = voice_roll_run
    transform = load_transform(run_dir / "transform.json")
    assert transform.voices == tuple(SATB) and load_sampler(run_dir).data_shape == (48, 16, 8)
    out = tmp_path / "harmonised"
    assert sounds.main(["--model", str(run_dir), "--harmonise", "test:0", "--num", "2", "--steps", "2",
                        "--resample", "1", "--out", str(out)]) == 0
    soprano, reference, _, _ = choose_melody("test:0", transform, data_dir)
    assert len(reference) == 4 and np.array_equal(reference[0], soprano)  # the melody is the first voice
    report = json.loads((out / "report.json").read_text())
    assert report["measures"][0]["melody_kept"] == 1.0 and report["reference"]["melody_on_top"] == 1.0
    for i in range(2):
        midi = pretty_midi.PrettyMIDI(str(out / f"harmonised_{i:02d}.mid"))
        assert [part.name for part in midi.instruments][0] == "Soprano"  # a part per voice that has notes
        np.testing.assert_array_equal(grid_notes(midi, 4, parts=midi.instruments[:1]), soprano)  # kept exactly
        for part in midi.instruments:  # each voice sounds one pitch at a time
            notes = grid_notes(midi, 4, parts=[part])
            assert np.all(notes[1:, 1] >= notes[:-1, 2]), part.name
        assert sf.read(out / f"harmonised_{i:02d}.wav")[0].shape == (transform.samples_for(report["n_steps"]),)
    original = pretty_midi.PrettyMIDI(str(out / "original.mid"))
    assert [part.name for part in original.instruments] == list(SATB)
    out = tmp_path / "bars"
    assert sounds.main(["--model", str(run_dir), "--fill-bars", "0", "1", "--piece", "test:0", "--num", "1",
                        "--steps", "1", "--resample", "1", "--out", str(out)]) == 0
    assert (out / "filled_00.mid").is_file() and (out / "comparison.png").stat().st_size > 1000
    out = tmp_path / "continued"
    assert sounds.main(["continue", "--model", str(run_dir), "--input", "test:0", "--prompt-bars", "1", "--duration",
                        "3", "--steps", "1", "--out", str(out / "piece")]) == 0
    assert (out / "piece.mid").is_file() and (out / "piece_original.mid").is_file()
    out = tmp_path / "sampled"
    assert sounds.main(["--model", str(run_dir), "--num", "2", "--steps", "2", "--out", str(out)]) == 0
    assert len(list(out.glob("generated_*.mid"))) == 2 and len(list(out.glob("original_*.mid"))) == 2
