"""Tests for preprocessing.pipeline, preprocessing.run, preprocessing.config, padder and saver."""

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import yaml

import common.atomic as atomic_module
import preprocessing.pipeline as pipeline_module
from common.config import load_config, parse_overrides
from common.errors import ParameterError
from preprocessing import (
    DatasetFolder,
    Loader,
    LogSpectrogramExtractor,
    Padder,
    PreprocessConfig,
    PreprocessingPipeline,
    Saver,
    load_normaliser,
    load_transform,
)
from preprocessing.run import main

SAMPLE_RATE = 16000
CHORALES_COLUMNS = ["piece", "split", "wav_path", "midi_path", "duration_s", "sample_rate"]


def harmonic_tone(duration_s, sample_rate=SAMPLE_RATE, f0=196.0):
    t = np.arange(int(round(duration_s * sample_rate))) / sample_rate
    signal = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 5))
    return (0.2 * (0.6 + 0.4 * np.sin(2 * np.pi * 0.7 * t)) * signal).astype(np.float32)


def make_chorales_folder(root):
    """A folder in the chorales recipe's layout: 4 good files and 4 bad ones."""
    wav = root / "wav"
    wav.mkdir(parents=True)
    files = {
        # piece: (split, audio or bytes or None)
        "good_a": ("train", harmonic_tone(7.0)),  # 2 clips, 0.28-clip tail dropped
        "good_b": ("train", harmonic_tone(8.0, 22050, f0=262.0)),  # 3 clips, 0.60-clip tail padded; resampled
        "good_c": ("validation", harmonic_tone(6.5, f0=330.0)),  # 2 clips
        "good_d": ("test", harmonic_tone(3.5, f0=392.0)),  # 1 clip
        "silent": ("train", np.zeros(4 * SAMPLE_RATE, dtype=np.float32)),
        "short": ("test", harmonic_tone(2.0)),
        "corrupt": ("validation", b"RIFF\x10\x00\x00\x00WAVEjunk" + bytes(range(256)) * 8),
        "missing": ("train", None),
    }
    rows = []
    for piece, (split, content) in files.items():
        path = wav / f"{piece}.wav"
        if isinstance(content, bytes):
            path.write_bytes(content)
        elif content is not None:
            sf.write(path, content, 22050 if piece == "good_b" else SAMPLE_RATE)
        rows.append(
            {
                "piece": piece,
                "split": split,
                "wav_path": f"wav/{piece}.wav",
                "midi_path": f"midi/{piece}.mid",
                "duration_s": 0.0,
                "sample_rate": SAMPLE_RATE,
            }
        )
    with (root / "manifest.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=CHORALES_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return root


def test_cli_writes_good_files_and_lists_bad_ones(tmp_path, capsys):
    input_dir = make_chorales_folder(tmp_path / "chorales")
    output_dir = tmp_path / "out"
    config_path = tmp_path / "config.yaml"
    config_path.write_text(
        yaml.safe_dump({"source": "chorales", "input_dir": str(input_dir), "output_dir": str(output_dir)})
    )
    # num_workers=2: the parallel (process pool) path.
    status = main(["--config", str(config_path), "--set", "num_workers=2"])
    captured = capsys.readouterr()
    assert status == 1
    for name in ("silent.wav", "short.wav", "corrupt.wav", "missing.wav"):
        assert name in captured.out
    assert "[8/8]" in captured.err

    with (output_dir / "skipped.csv").open() as f:
        skipped = {row["source_path"].rsplit("/", 1)[-1]: row["reason"] for row in csv.DictReader(f)}
    assert set(skipped) == {"silent.wav", "short.wav", "corrupt.wav", "missing.wav"}
    assert skipped["silent.wav"].startswith("silent")
    assert skipped["short.wav"].startswith("shorter than one clip: 2.000 s")
    assert "could not be decoded" in skipped["corrupt.wav"]
    assert "not found" in skipped["missing.wav"]

    rows = DatasetFolder(output_dir).rows
    assert [r["clip_id"] for r in rows] == [
        "good_a__0000", "good_a__0001",
        "good_b__0000", "good_b__0001", "good_b__0002",
        "good_c__0000", "good_c__0001",
        "good_d__0000",
    ]  # fmt: skip
    assert {r["split"] for r in rows if r["piece"] == "good_c"} == {"validation"}
    tail = rows[4]
    assert tail["offset_s"] == pytest.approx(6.144) and tail["duration_s"] == pytest.approx(8.0 - 6.144)
    npy_files = sorted((output_dir / "spectrograms").rglob("*.npy"))
    assert len(npy_files) == len(rows) == 8
    for row in rows:
        array = np.load(output_dir / row["path"])
        assert array.dtype == np.float32 and array.shape == (512, 192)
        assert row["path"] == f"spectrograms/{row['split']}/{row['clip_id']}.npy"
        assert row["min_db"] == pytest.approx(float(array.min()))
        assert row["max_db"] == pytest.approx(float(array.max()))

    normaliser = load_normaliser(output_dir / "normalisation.json")
    train = [r for r in rows if r["split"] == "train"]
    assert normaliser.min_value == pytest.approx(min(r["min_db"] for r in train))
    assert normaliser.max_value == pytest.approx(max(r["max_db"] for r in train))
    normalised = normaliser.normalise(np.load(output_dir / train[0]["path"]))
    assert normalised.min() >= 0.0 and normalised.max() <= 1.0

    transform = load_transform(output_dir / "transform.json")
    assert transform.get_config() == LogSpectrogramExtractor(SAMPLE_RATE).get_config()
    resolved = load_config(PreprocessConfig, output_dir / "config.yaml")
    assert resolved.num_workers == 2 and resolved.input_dir == str(input_dir)


def test_folder_source_in_process_exit_zero(tmp_path, capsys):
    input_dir = tmp_path / "audio"
    (input_dir / "sub").mkdir(parents=True)
    # 3.072 s of tone, then 3.072 s of silence: the silent clip is dropped.
    sf.write(input_dir / "sub" / "Tone A.flac", np.concatenate([harmonic_tone(3.072), np.zeros(49152)]), SAMPLE_RATE)
    sf.write(input_dir / "b.WAV", harmonic_tone(4.0), SAMPLE_RATE)
    status = main(
        [
            "--set", "source=folder",
            "--set", f"input_dir={input_dir}",
            "--set", f"output_dir={tmp_path / 'out'}",
            "--set", "num_workers=1",
            "--set", "validation_fraction=0.0",
            "--set", "test_fraction=0.0",
            "--set", "n_fft=512",
            "--set", "win_length=512",
            "--set", "hop_length=128",
        ]
    )  # fmt: skip
    assert status == 0, capsys.readouterr()
    rows = DatasetFolder(tmp_path / "out").rows
    assert [r["clip_id"] for r in rows] == ["b__0000", "sub-Tone_A__0000"]
    assert np.load(tmp_path / "out" / rows[0]["path"]).shape == (256, 384)
    with (tmp_path / "out" / "skipped.csv").open() as f:
        assert list(csv.DictReader(f)) == []


def test_folder_source_reads_aiff_and_au_and_lists_ignored_files(tmp_path, capsys):
    input_dir = tmp_path / "audio"
    (input_dir / "album").mkdir(parents=True)
    sf.write(input_dir / "album" / "a.aiff", harmonic_tone(3.5), SAMPLE_RATE)
    sf.write(input_dir / "b.au", harmonic_tone(3.5, f0=262.0), SAMPLE_RATE, subtype="PCM_16")
    (input_dir / "album" / "notes.txt").write_text("liner notes\n")
    (input_dir / "album" / "song.m4a").write_bytes(b"\x00\x00\x00\x20ftypM4A " + bytes(64))
    status = main(
        [
            "--set", "source=folder",
            "--set", f"input_dir={input_dir}",
            "--set", f"output_dir={tmp_path / 'out'}",
            "--set", "num_workers=1",
            "--set", "validation_fraction=0.0",
            "--set", "test_fraction=0.0",
        ]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert status == 0, out  # ignored files that are not audio do not make it 1
    rows = DatasetFolder(tmp_path / "out").rows
    assert sorted(r["clip_id"] for r in rows) == ["album-a__0000", "b__0000"]
    assert {Path(r["source_path"]).suffix for r in rows} == {".aiff", ".au"}
    with (tmp_path / "out" / "ignored.csv").open() as f:
        ignored = {Path(row["path"]).name: row["reason"] for row in csv.DictReader(f)}
    assert ignored == {
        "notes.txt": "not an audio format soundfile reads: .txt",
        "song.m4a": "not an audio format soundfile reads: .m4a",
    }
    assert "Ignored 2 file(s)" in out and "song.m4a: not an audio format soundfile reads: .m4a" in out
    with (tmp_path / "out" / "skipped.csv").open() as f:
        assert list(csv.DictReader(f)) == []


def test_source_paths_are_absolute_so_the_dataset_works_from_any_directory(tmp_path, monkeypatch):
    project = tmp_path / "project"
    (project / "audio").mkdir(parents=True)
    sf.write(project / "audio" / "a.wav", harmonic_tone(3.5), SAMPLE_RATE)
    monkeypatch.chdir(project)
    config = PreprocessConfig(
        source="folder", input_dir="audio", output_dir="out", num_workers=1, validation_fraction=0.0, test_fraction=0.0,
    )  # fmt: skip
    PreprocessingPipeline(config).run(progress=None)
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    row = DatasetFolder(project / "out").rows[0]
    source = Path(row["source_path"])
    assert source.is_absolute() and source == (project / "audio" / "a.wav").resolve()
    loader = Loader(SAMPLE_RATE, offset_s=row["offset_s"], duration_s=row["duration_s"])
    audio = loader.load(source)
    assert audio.shape == (49152,)
    # a manifest written before: source_path relative to the folder it was built in, read as before
    manifest = project / "out" / "manifest.csv"
    manifest.write_text(manifest.read_text().replace(str(source), "audio/a.wav"))
    old = DatasetFolder(project / "out").rows[0]
    assert old["source_path"] == "audio/a.wav"
    with pytest.raises(ParameterError, match="not found"):
        loader.load(Path(old["source_path"]))  # from another directory it never worked
    monkeypatch.chdir(project)
    np.testing.assert_array_equal(loader.load(Path(old["source_path"])), audio)


def test_clips_reach_the_disk_once_before_the_manifest(tmp_path, monkeypatch):
    # clips are not fsync'ed one by one (milliseconds each on a virtual disk); one sync comes before the manifest
    events = []
    monkeypatch.setattr(pipeline_module, "sync_to_disk", lambda: events.append("sync"))
    monkeypatch.setattr(atomic_module.os, "fsync", lambda fd: events.append("fsync"))
    save_manifest = Saver.save_manifest
    monkeypatch.setattr(Saver, "save_manifest", lambda self, rows: (events.append("manifest"), save_manifest(self, rows))[1])
    input_dir = make_chorales_folder(tmp_path / "chorales")
    config = load_config(
        PreprocessConfig, None, {"input_dir": str(input_dir), "output_dir": str(tmp_path / "out"), "num_workers": 1}
    )
    report = PreprocessingPipeline(config).run(progress=False)
    assert sum(report.clips_per_split.values()) == 8
    assert events.index("sync") < events.index("manifest")
    assert "fsync" not in events[: events.index("sync")]  # no clip was fsync'ed


@pytest.mark.parametrize(
    "overrides, match",
    [
        (["bogus=1"], "Unknown config key"),
        (["sample_rate=abc"], "Received: sample_rate='abc'"),
        (["hop_length=2048"], "Received: hop_length=2048"),
        (["input_dir=/nonexistent/folder"], "Received: input_dir="),
        (["novalue"], "key=value"),
    ],
)
def test_cli_bad_input_exits_two(overrides, match, capsys):
    argv = []
    for item in overrides:
        argv += ["--set", item]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.startswith("error: ")
    assert match in err


def test_cli_missing_config_exits_two(tmp_path, capsys):
    assert main(["--config", str(tmp_path / "nope.yaml")]) == 2
    assert "Config file not found" in capsys.readouterr().err


def test_no_train_clip_is_an_error(tmp_path):
    input_dir = tmp_path / "audio"
    input_dir.mkdir()
    sf.write(input_dir / "a.wav", harmonic_tone(3.5), SAMPLE_RATE)
    config = PreprocessConfig(
        source="folder", input_dir=str(input_dir), output_dir=str(tmp_path / "out"), num_workers=1,
        validation_fraction=0.0, test_fraction=0.99,
    )  # fmt: skip
    with pytest.raises(ParameterError, match="No train clip"):
        PreprocessingPipeline(config).run(progress=None)
    assert (tmp_path / "out" / "manifest.csv").is_file()


# === Config ===


def test_default_config_file_matches_dataclass():
    config = load_config(PreprocessConfig, "configs/chorales_stft.yaml")
    assert config == PreprocessConfig()
    assert (config.clip_samples, config.n_frames) == (49152, 192)


def test_config_rejects_unknown_key_and_wrong_type(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("sample_rate: 16000\nsample_rat: 22050\n")
    with pytest.raises(ParameterError, match="Unknown config key.*sample_rat"):
        load_config(PreprocessConfig, path)
    path.write_text("n_fft: '1024'\n")
    with pytest.raises(ParameterError, match="must be an integer. Received: n_fft='1024'"):
        load_config(PreprocessConfig, path)
    path.write_text("genres: jazz\n")
    with pytest.raises(ParameterError, match="must be a list"):
        load_config(PreprocessConfig, path)
    config = load_config(PreprocessConfig, None, parse_overrides(["source=gtzan", "genres=[jazz, rock]"]))
    assert config.genres == ("jazz", "rock")


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"source": "youtube"}, "source"),
        ({"sample_rate": 0}, "sample_rate"),
        ({"n_fft": 1023, "win_length": 1000}, "n_fft"),
        ({"win_length": 2048}, "win_length"),
        ({"hop_length": 2048}, "hop_length"),
        ({"num_workers": 0}, "num_workers"),
        ({"amin": 0.0}, "amin"),
        ({"clip_duration_s": 0.001}, "clip_duration_s"),
        ({"clip_hop_s": -1.0}, "clip_hop_s"),
        ({"offset_s": -0.5}, "offset_s"),
        ({"min_tail_fraction": 1.5}, "min_tail_fraction"),
        ({"silence_threshold_db": 3.0}, "silence_threshold_db"),
        ({"validation_fraction": 1.0}, "validation_fraction"),
        ({"validation_fraction": 0.5, "test_fraction": 0.5}, "test_fraction"),
        ({"genres": ("jazz",)}, "genres"),
    ],
)
def test_config_validation_names_the_key(kwargs, name):
    with pytest.raises(ParameterError, match=f"'{name}'.*Received: {name}="):
        load_config(PreprocessConfig, None, kwargs)  # flat keys: n_fft, win_length, ... are section keys


# === Slicing, padding, saving ===


def test_slice_clips_tail_rule_and_overlap():
    pipeline = PreprocessingPipeline(PreprocessConfig(clip_duration_s=1.0, min_tail_fraction=0.5))
    signal = np.ones(int(2.6 * SAMPLE_RATE), dtype=np.float32)
    clips = pipeline.slice_clips(signal)
    assert [(start, n) for start, n, _ in clips] == [(0, 16000), (16000, 16000), (32000, 9600)]
    assert all(clip.shape == (16000,) for _, _, clip in clips)
    assert clips[2][2][9600:].max() == 0.0 and clips[2][2][:9600].min() == 1.0
    assert len(pipeline.slice_clips(signal[: int(2.4 * SAMPLE_RATE)])) == 2
    overlapping = PreprocessingPipeline(PreprocessConfig(clip_duration_s=1.0, clip_hop_s=0.5, min_tail_fraction=1.0))
    assert [start for start, _, _ in overlapping.slice_clips(signal)] == [0, 8000, 16000, 24000]


def test_padder():
    padder = Padder()
    x = np.arange(1, 4, dtype=np.float32)
    np.testing.assert_array_equal(padder.left_pad(x, 2), [0, 0, 1, 2, 3])
    np.testing.assert_array_equal(padder.right_pad(x, 1), [1, 2, 3, 0])
    assert padder.pad_to(np.ones((2, 3)), 5).shape == (2, 5)
    np.testing.assert_array_equal(Padder("edge").right_pad(x, 2), [1, 2, 3, 3, 3])
    with pytest.raises(ParameterError, match="Received: n=-1"):
        padder.left_pad(x, -1)
    with pytest.raises(ParameterError, match="longer than the target"):
        padder.pad_to(x, 2)


def test_saver_rejects_bad_input(tmp_path):
    saver = Saver(tmp_path)
    assert saver.save_spectrogram("train", "a__0000", np.zeros((4, 3))) == "spectrograms/train/a__0000.npy"
    with pytest.raises(ParameterError, match="Received: split='dev'"):
        saver.save_spectrogram("dev", "a", np.zeros((4, 3)))
    with pytest.raises(ParameterError, match="clip_id"):
        saver.save_spectrogram("train", "../escape", np.zeros((4, 3)))
    with pytest.raises(ParameterError, match="2-D"):
        saver.save_spectrogram("train", "a", np.zeros(4))
    with pytest.raises(ParameterError, match="columns"):
        saver.save_manifest([{"clip_id": "a"}])
    assert json.loads(saver.save_normaliser(type("N", (), {"get_config": lambda self: {"x": 1}})()).read_text())


def test_module_entry_point_runs():
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "preprocessing.run", "--set", "n_fft=0"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2
    assert "Received: n_fft=0" in result.stderr and "Traceback" not in result.stderr
