"""SoundGenerator and a CPU smoke test of ``python -m generate.sounds``."""

import json

import numpy as np
import pytest
import soundfile as sf

from common.errors import ParameterError
from generate import sounds
from generate.sound_generator import SoundGenerator
from preprocessing.log_spectrogram import LogSpectrogramExtractor
from preprocessing.normaliser import MinMaxNormaliser


def test_sound_generator_inverts_a_real_spectrogram():
    sample_rate = 8000
    t = np.arange(8192) / sample_rate
    audio = (0.5 * np.sin(2 * np.pi * 440.0 * t)).astype("float32")
    transform = LogSpectrogramExtractor(sample_rate, n_fft=256, hop_length=64)
    log_db = transform.extract(audio)
    normaliser = MinMaxNormaliser(-80.0, float(log_db.max()))
    generator = SoundGenerator(transform, normaliser, n_iter=32)
    restored = generator.spectrogram_to_audio(normaliser.normalise(log_db)[..., None], seed=0)
    assert restored.shape == (8192,)
    # the restored tone has its energy at 440 Hz
    spectrum = np.abs(np.fft.rfft(restored))
    assert abs(np.argmax(spectrum) * sample_rate / len(restored) - 440.0) < 5.0
    np.testing.assert_allclose(generator.spectrogram_to_audio(normaliser.normalise(log_db), seed=0), restored)


def test_sound_generator_bad_input(tmp_path):
    generator = SoundGenerator(LogSpectrogramExtractor(8000, n_fft=256, hop_length=64), MinMaxNormaliser(-80.0, 0.0))
    with pytest.raises(ParameterError, match="shape"):
        generator.spectrogram_to_audio(np.zeros((2, 128, 16, 1)))
    with pytest.raises(ParameterError, match="n_iter"):
        SoundGenerator(generator.transform, generator.normaliser, n_iter=0)
    with pytest.raises(ParameterError, match="transform.json"):
        SoundGenerator.from_model_dir(tmp_path)


@pytest.mark.parametrize("kind", ["ddim", "ae"])
def test_generate_cli_writes_wavs_plot_and_report(runs, tmp_path, kind):
    out = tmp_path / "out"
    assert sounds.main(["--model", str(runs / kind), "--num", "2", "--steps", "2", "--out", str(out), "--seed", "5"]) == 0
    for i in range(2):
        generated, sample_rate = sf.read(out / f"generated_{i:02d}.wav")
        original, original_rate = sf.read(out / f"original_{i:02d}.wav")
        assert sample_rate == original_rate == 8000
        assert generated.shape == original.shape == (8192,)
        assert np.abs(original).max() > 0.01
    assert (out / "comparison.png").stat().st_size > 1000
    report = json.loads((out / "report.json").read_text())
    assert report["kind"] == ("ddim" if kind == "ddim" else "autoencoder")
    assert report["real_time_factor"] > 0
    assert set(report["statistics"]) == {"generated", "original"}
    assert report["statistics"]["original"]["rms_db"] > -40
    if kind == "ddim":
        assert report["seeds"] == [5, 6]


def test_generate_is_reproducible(runs, tmp_path):
    for name in ("a", "b"):
        assert sounds.main(["--model", str(runs / "ddim"), "--num", "1", "--steps", "2", "--out", str(tmp_path / name)]) == 0
    a, _ = sf.read(tmp_path / "a" / "generated_00.wav")
    b, _ = sf.read(tmp_path / "b" / "generated_00.wav")
    np.testing.assert_array_equal(a, b)


def test_generate_cli_bad_model_folder(tmp_path, capsys):
    assert sounds.main(["--model", str(tmp_path / "nowhere")]) == 2
    assert "nowhere" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert sounds.main(["--model", str(tmp_path / "empty")]) == 2
    assert "neither" in capsys.readouterr().err


def test_generate_cli_model_without_statistics(runs, tmp_path, capsys):
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(runs / "ddim", broken)
    (broken / "normalisation.json").unlink()
    assert sounds.main(["--model", str(broken), "--num", "1"]) == 2
    assert "normalisation.json" in capsys.readouterr().err


@pytest.mark.parametrize("kind, name", [("ddim", "network.keras"), ("ae", "autoencoder.keras")])
def test_generate_cli_truncated_model_file_is_corrupt_not_missing(runs, tmp_path, capsys, kind, name):
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(runs / kind, broken)
    path = broken / name
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])  # a copy or download cut short
    assert sounds.main(["--model", str(broken), "--num", "1", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "unreadable or corrupt" in err and "not found" not in err
    assert f"Received: path={str(path)!r}" in err
    assert not (tmp_path / "out").exists()
    if kind == "ddim":  # a missing network file (diffusion.json still there) is still "not found"
        path.unlink()
        assert sounds.main(["--model", str(broken), "--num", "1"]) == 2
        assert f"Network file not found. Received: path={str(path)!r}" in capsys.readouterr().err


def test_generate_cli_finds_the_originals_of_a_dataset_built_elsewhere(runs, tmp_path, monkeypatch, capsys):
    from conftest import tiny_preprocess_config, write_tones
    from preprocessing.pipeline import PreprocessingPipeline

    project = tmp_path / "project"
    write_tones(project / "audio")
    monkeypatch.chdir(project)  # built from relative paths ...
    PreprocessingPipeline(tiny_preprocess_config("audio", "stft")).run(progress=False)
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")  # ... used from another directory
    out = tmp_path / "out"
    argv = ["--model", str(runs / "ddim"), "--data", str(project / "stft"), "--num", "1", "--steps", "2", "--out", str(out)]
    assert sounds.main(argv) == 0, capsys.readouterr().err
    original, _ = sf.read(out / "original_00.wav")
    assert np.abs(original).max() > 0.01  # the source audio, read from its absolute path
    source = json.loads((out / "report.json").read_text())["originals"][0]["source_path"]
    assert source.startswith(str((project / "audio").resolve()))


def test_generate_cli_without_the_dataset(runs, tmp_path, capsys):
    assert sounds.main(["--model", str(runs / "ddim"), "--data", str(tmp_path / "no_data"), "--num", "1"]) == 2
    assert "no_data" in capsys.readouterr().err
