"""Key-normalised score-roll models from the CLI: --key, keys drawn from the training data, harmonisation in the
model's key with the melody written back exactly (generate.written_key)."""

import json
import shutil

import numpy as np
import pytest

from conftest import tiny_preprocess_config
from generate import sounds
from generate.written_key import sample_transpositions
from preprocessing.dataset_folder import DatasetFolder
from preprocessing.pipeline import PreprocessingPipeline
from preprocessing.transform_io import load_transform
from tests.generate.score_roll_run import chorale_like, roll_run, write_midi  # noqa: F401 (roll_run: a fixture)

G_MAJOR_MELODY = [(67, 0, 8), (71, 8, 16), (74, 16, 24), (72, 24, 28), (71, 28, 32), (67, 32, 40)]


@pytest.fixture(scope="module")
def key_run(roll_run, tmp_path_factory):
    """``(run folder, data set)``: the tiny roll DDIM's run, its transform.json saying key_normalisation, and a
    key-normalised data set of the same four-part pieces written in several keys (the model is untouched: what
    is tested is how its rolls are written)."""
    run_dir, _ = roll_run
    root = tmp_path_factory.mktemp("key_run")
    shutil.copytree(run_dir, root / "run")
    saved = json.loads((root / "run" / "transform.json").read_text())
    saved["config"]["key_normalisation"] = True
    (root / "run" / "transform.json").write_text(json.dumps(saved))
    (root / "midi").mkdir()
    for i, shift in enumerate((0, 2, 5, -3, 7, -1, 4, 0)):
        parts = {name: [(p + shift, s, e) for p, s, e in notes] for name, notes in chorale_like(3.0 + i % 3).items()}
        write_midi(root / "midi" / f"piece{i:02d}.mid", parts)
    config = tiny_preprocess_config(root / "midi", root / "data", representation="score_roll", clip_duration_s=2.0,
                                    **{"score_roll.key_normalisation": True})
    PreprocessingPipeline(config).run(progress=False)
    return root / "run", root / "data"


def sample(run_dir, data_dir, out, *extra):
    assert sounds.main(["--model", str(run_dir), "--data", str(data_dir), "--num", "2", "--steps", "2",
                        "--out", str(out), *extra]) == 0
    return json.loads((out / "report.json").read_text())


def test_key_writes_every_sample_in_that_keys_signature(key_run, tmp_path):
    run_dir, data_dir = key_run
    transform = load_transform(run_dir / "transform.json")
    in_c = sample(run_dir, data_dir, tmp_path / "c", "--key", "C major")
    in_d = sample(run_dir, data_dir, tmp_path / "d", "--key", "D major")
    in_g_minor = sample(run_dir, data_dir, tmp_path / "g", "--key", "g")  # G minor: B-flat major's signature, +2 - 12
    assert in_c["transpositions"] == [0, 0] and in_d["transpositions"] == [2, 2] and in_d["key"] == "D major"
    assert in_g_minor["transpositions"] == [-2, -2]
    for i in range(2):  # the same seeds sample the same rolls; only the key they are written in differs
        notes_c = transform.notes(tmp_path / "c" / f"generated_{i:02d}.mid")
        assert len(notes_c) > 0
        assert np.array_equal(transform.notes(tmp_path / "d" / f"generated_{i:02d}.mid"), notes_c + [2, 0, 0])
        assert np.array_equal(transform.notes(tmp_path / "g" / f"generated_{i:02d}.mid"), notes_c - [2, 0, 0])


def test_without_key_samples_take_keys_from_the_training_clips_by_seed(key_run, tmp_path):
    run_dir, data_dir = key_run
    rows = DatasetFolder(data_dir).rows
    train = {row["transposition"] for row in rows if row["split"] == "train"}
    assert len(train) > 1  # the pieces were written in several keys
    transform = load_transform(run_dir / "transform.json")
    seeds = list(range(40))
    drawn = sample_transpositions(transform, seeds, data_dir=data_dir)
    assert set(drawn) <= {-t for t in train} and len(set(drawn)) > 1
    assert sample_transpositions(transform, seeds, data_dir=data_dir) == drawn  # reproducible
    assert sample_transpositions(transform, [5], data_dir=data_dir) == drawn[5:6]  # per seed, not per batch
    report = sample(run_dir, data_dir, tmp_path / "out", "--seed", "3")
    assert report["key"] is None and report["transpositions"] == drawn[3:5]
    # the originals are written in their pieces' own keys: their rolls moved back by the manifest's shift
    for i, original in enumerate(report["originals"]):
        row = next(r for r in rows if r["clip_id"] == original["clip_id"])
        clip = DatasetFolder(data_dir).read_clip(DatasetFolder(data_dir).clip_path(row["path"]))
        written = transform.notes(tmp_path / "out" / f"original_{i:02d}.mid")
        assert original["transposition"] == row["transposition"]
        assert np.array_equal(written, transform.decode(clip) - [row["transposition"], 0, 0])


@pytest.mark.parametrize(
    "argv, received",
    [
        (["--key", "H major"], "key='H major'"),  # no such tonic
        (["--key", "D dorian"], "key='D dorian'"),  # a mode a normalised model has not learned
        (["--key", "G", "--harmonise", "test:0"], "key='G'"),  # harmonisation keeps the melody's key
    ],
)
def test_bad_keys_are_one_error_naming_the_value(key_run, tmp_path, capsys, argv, received):
    run_dir, data_dir = key_run
    assert sounds.main(["--model", str(run_dir), "--data", str(data_dir), "--out", str(tmp_path), *argv]) == 2
    assert f"Received: {received}" in capsys.readouterr().err and not (tmp_path / "report.json").exists()


def test_key_is_refused_for_a_model_without_key_normalisation(roll_run, tmp_path, capsys):
    run_dir, _ = roll_run
    assert sounds.main(["--model", str(run_dir), "--key", "D minor", "--num", "1", "--steps", "1",
                        "--out", str(tmp_path)]) == 2
    assert "trained with key normalisation" in capsys.readouterr().err


def test_a_key_normalised_model_harmonises_in_its_key_and_writes_the_melody_exactly(key_run, tmp_path):
    run_dir, data_dir = key_run
    path = write_midi(tmp_path / "melody.mid", {"melody": G_MAJOR_MELODY})
    out = tmp_path / "out"
    assert sounds.main(["--model", str(run_dir), "--data", str(data_dir), "--harmonise", str(path), "--num", "2",
                        "--steps", "2", "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["transposition"] == -5  # music21 hears G major: harmonised in C major, written back down a fourth
    transform = load_transform(run_dir / "transform.json")
    assert transform.notes(out / "melody.mid").tolist() == [list(n) for n in G_MAJOR_MELODY]
    for i, measures in enumerate(report["measures"]):
        assert measures["melody_kept"] == 1.0 and measures["melody_on_top"] == 1.0
        notes = transform.notes(out / f"harmonised_{i:02d}.mid")
        top = [tuple(n) for n in notes if n[0] == notes[notes[:, 1] == n[1], 0].max()]
        assert [n for n in top if n in G_MAJOR_MELODY] == G_MAJOR_MELODY  # every melody note, at its pitch
        assert notes[:, 0].max() == 74  # nothing above the melody's highest note


def test_a_key_normalised_model_continues_a_prompt_in_the_prompts_key(key_run, tmp_path):
    run_dir, data_dir = key_run
    chords = [(67, 62, 59, 43), (72, 64, 60, 48), (74, 66, 62, 50), (71, 67, 62, 43)]  # I IV V I in G major
    prompt = {name: [(chord[v], 4 * k, 4 * k + 4) for k, chord in enumerate(chords)]
              for v, name in enumerate(("Soprano", "Alto", "Tenor", "Bass"))}
    path = write_midi(tmp_path / "prompt.mid", prompt)
    out = tmp_path / "continued.wav"
    assert sounds.main(["continue", "--model", str(run_dir), "--input", str(path), "--duration", "2", "--steps", "2",
                        "--out", str(out)]) == 0
    report = json.loads(out.with_suffix(".json").read_text())
    assert report["transposition"] == -5 and report["prompt_steps"] == 16  # sampled in C, written back in G
    transform = load_transform(run_dir / "transform.json")
    written = transform.notes(out.with_suffix(".mid"))
    given = transform.notes(path)
    assert np.array_equal(written[written[:, 1] < 16], given)  # the prompt exactly as given, in its key
    assert report["keys"]["prompt"] == "G major"


def test_evaluate_scores_a_key_normalised_model_in_written_keys_against_clips_in_their_own_keys(key_run, tmp_path):
    from evaluation.real_clips import dataset_clips
    from generate import evaluate

    run_dir, data_dir = key_run
    data = DatasetFolder(data_dir)
    transform = data.transform
    rows = [row for row in data.rows if row["split"] == "train"]
    assert any(row["transposition"] for row in rows)
    clips = dataset_clips(data_dir, ["train"], 32000, transform.sample_rate, rows=rows)
    for row, clip in zip(rows, clips):
        values = data.read_clip(data.clip_path(row["path"]))
        own_key = transform.invert(values, transposition=-row["transposition"]) if row["transposition"] else None
        expected = transform.invert(values) if own_key is None else own_key
        assert np.allclose(clip[:len(expected)], expected[:32000], atol=1e-6)
        if row["transposition"]:  # not the normalised key's rendering
            assert not np.allclose(clip[:len(expected)], transform.invert(values)[:32000], atol=1e-3)
    out = tmp_path / "eval"
    assert evaluate.main(["--model", str(run_dir), "--data", str(data_dir), "--splits", "train", "--num", "3",
                          "--steps", "2", "--patch-seconds", "1", "--no-statistics", "--train-clips", "0",
                          "--out", str(out)]) == 0
    model_row = json.loads((out / "evaluation.json").read_text())["rows"][-1]
    drawn = sample_transpositions(load_transform(run_dir / "transform.json"), [0, 1, 2], data_dir=data_dir)
    assert any(drawn) and model_row["transpositions"] == drawn


def test_evaluate_scored_beside_an_audio_model_a_key_normalised_model_draws_keys_from_its_own_data(
        key_run, runs, tiny_dataset, tmp_path):
    """``--data`` names the real clips (the first model's data set); a later model samples with its run's own."""
    from generate import evaluate

    run_dir, data_dir = key_run
    own = tmp_path / "run"  # the key run, its config naming the key-normalised data set it writes keys from
    shutil.copytree(run_dir, own)
    config = own / "config.yaml"
    config.write_text("".join(f"data_dir: {data_dir}\n" if line.startswith("data_dir:") else line
                              for line in config.read_text().splitlines(keepends=True)))
    out = tmp_path / "eval"
    assert evaluate.main(["--model", str(runs / "ddim"), str(own), "--data", str(tiny_dataset), "--num", "3",
                          "--steps", "2", "--patch-seconds", "1", "--no-statistics", "--train-clips", "0",
                          "--out", str(out)]) == 0
    report = json.loads((out / "evaluation.json").read_text())
    drawn = sample_transpositions(load_transform(own / "transform.json"), [0, 1, 2], data_dir=data_dir)
    assert report["real_clips"].startswith(f"dataset {tiny_dataset}") and any(drawn)
    assert report["rows"][-1]["transpositions"] == drawn and report["rows"][-1]["cut_from_seconds"] == 2.0
