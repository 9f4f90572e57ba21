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


def test_the_warm_up_traces_the_griffin_lim_graph_the_batch_uses():
    from preprocessing import griffin_lim

    transform = LogSpectrogramExtractor(8000, n_fft=192, hop_length=48)  # a grid no other test traces
    generator = SoundGenerator(transform, MinMaxNormaliser(-80.0, 0.0), n_iter=7)
    spectrogram = np.random.default_rng(0).uniform(0, 1, (96, 40)).astype("float32")  # n_fft // 2 bins
    before = set(griffin_lim._GRIFFIN_LIM_GRAPHS)
    generator.warm_up(spectrogram)
    traced = {key for key in griffin_lim._GRIFFIN_LIM_GRAPHS if key not in before}
    assert [(key[0], key[4]) for key in traced] == [(192, 7)]  # this grid at the generator's 7 iterations
    generator.generate(spectrogram[None], seeds=[1])
    assert set(griffin_lim._GRIFFIN_LIM_GRAPHS) == before | traced  # the batch traced nothing new


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
    assert (out / "index.html").read_text().count("<audio") == 4 and (out / "generated_01.png").is_file()
    report = json.loads((out / "report.json").read_text())
    assert report["kind"] == ("ddim" if kind == "ddim" else "autoencoder")
    timing = report["timing"]
    assert report["real_time_factor"] == pytest.approx(report["audio_seconds"] / timing["warm"]["seconds"], rel=0.02)
    assert timing["cold"]["seconds"] == pytest.approx(
        timing["cold"]["load_seconds"] + timing["cold"]["warmup_seconds"] + timing["warm"]["seconds"], abs=0.01)
    assert 0 < report["cold_real_time_factor"] < report["real_time_factor"]
    assert set(report["statistics"]) == {"generated", "original"}
    assert report["statistics"]["original"]["rms_db"] > -40
    if kind == "ddim":
        assert report["seeds"] == [5, 6]
        # the options as sampled, the run's values where none was given (unconditional: no guidance)
        assert (report["sampler"], report["clip_sample"], report["guidance_scale"], report["guidance_rescale"]) == (
            "ddim", False, 1.0, 0.0)
    else:
        assert report["sampler"] is report["clip_sample"] is report["diffusion_steps"] is None


def test_the_figure_title_names_the_sampler_as_sampled(runs):
    from argparse import Namespace

    from generate.trained_model import TrainedModel

    model = TrainedModel(runs / "ddim")
    args = Namespace(label=None, prompt=None)
    title = sounds.figure_title(args, "ddim", model.model_dir, model.sampling_options(sampler="dpm++2m", clip_sample=True))
    assert title == "ddim ddim, 2 DPM-Solver++(2M) steps, static thresholding"
    assert sounds.figure_title(args, "ddim", model.model_dir, model.sampling_options(steps=4)) == "ddim ddim, 4 DDIM steps"
    assert sounds.figure_title(args, "vae", model.model_dir, {}) == "vae ddim, samples"


def test_generated_full_scale_noise_is_limited_and_reported(runs, tmp_path, monkeypatch, capsys):
    """An undertrained model's full-scale noise comes out no louder than the training clips, a quiet clip
    is left alone, and the report and the printed lines say which was limited and by how much."""
    from preprocessing.loudness import LEVELS_KEY, peak_dbfs, rms_dbfs

    invert = SoundGenerator.spectrogram_to_audio
    quiet_audio = {}

    def spectrogram_to_audio(self, spectrogram, seed=0):
        audio = invert(self, spectrogram, seed)
        if seed == 5:  # sample 0: quiet (peak -30 dBFS)
            quiet_audio[seed] = (0.0316 * audio / np.abs(audio).max()).astype("float32")
            return quiet_audio[seed]
        noise = np.random.default_rng(0).uniform(-1.0, 1.0, audio.shape).astype("float32")
        return noise / np.abs(noise).max()  # sample 1: full-scale noise

    monkeypatch.setattr(SoundGenerator, "spectrogram_to_audio", spectrogram_to_audio)
    out = tmp_path / "out"
    assert sounds.main(["--model", str(runs / "ddim"), "--num", "2", "--steps", "2", "--out", str(out), "--seed", "5"]) == 0
    ceiling = json.loads((runs / "ddim" / "normalisation.json").read_text())[LEVELS_KEY]["p95"]
    assert -30.0 < ceiling < -6.0
    report = json.loads((out / "report.json").read_text())
    loudness = report["loudness"]
    assert (loudness["reference"], loudness["rms_ceiling_dbfs"], loudness["peak_ceiling_dbfs"]) == ("model", ceiling, -1.0)
    quiet, loud = loudness["clips"]
    assert quiet["file"] == "generated_00.wav" and quiet["gain_db"] == 0.0 and quiet["limited_by"] is None
    np.testing.assert_allclose(sf.read(out / "generated_00.wav", dtype="float32")[0], quiet_audio[5], atol=1 / 32768)
    assert loud["limited_by"] == "rms" and loud["rms_dbfs_in"] > -5.0
    assert loud["gain_db"] == pytest.approx(ceiling - loud["rms_dbfs_in"], abs=0.01)
    written, _ = sf.read(out / "generated_01.wav", dtype="float32")
    lsb_db = 20 * np.log10(1 + 1 / 32768 / 10 ** (ceiling / 20))  # one 16-bit step at the ceiling's level, in dB
    assert rms_dbfs(written) <= ceiling + lsb_db and peak_dbfs(written) <= -1.0
    printed = capsys.readouterr().out
    assert "Limited 1 of 2 generated clips" in printed and f"generated_01.wav: {loud['gain_db']:+.2f} dB (rms" in printed
    assert "generated_00.wav:" not in printed


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


@pytest.mark.parametrize("kind", ["ddim", "ae"])
def test_without_its_own_data_set_a_model_samples_without_originals(runs, tmp_path, capsys, kind):
    """A fresh clone has only the demo's data set: a shipped model trained on another one still samples
    (one warning, no originals); an autoencoder, which reconstructs the originals, cannot."""
    import shutil

    import yaml

    model = tmp_path / "model"
    shutil.copytree(runs / kind, model)
    config = yaml.safe_load((model / "config.yaml").read_text())
    (model / "config.yaml").write_text(yaml.safe_dump({**config, "data_dir": str(tmp_path / "elsewhere")}))
    out = tmp_path / "out"
    status = sounds.main(["--model", str(model), "--num", "2", "--steps", "1", "--out", str(out)])
    error = capsys.readouterr().err
    if kind == "ae":
        assert status == 2 and "elsewhere" in error and not out.exists()
        return
    assert status == 0 and error.count("warning: ") == 1 and "without originals" in error and "elsewhere" in error
    assert sorted(p.name for p in out.glob("*.wav")) == ["generated_00.wav", "generated_01.wav"]
    report = json.loads((out / "report.json").read_text())
    assert report["originals"] == [] and report["statistics"]["original"] is None
    assert report["statistics"]["generated"]["rms_db"] < 0
    page = (out / "index.html").read_text()
    assert page.count("<audio") == 2 and "original_00" not in page and (out / "comparison.png").is_file()


@pytest.mark.parametrize("module_name, argv", [
    ("generate.sounds", ["--num", "1", "--steps", "1", "--out", "{tmp}/out"]),
    ("generate.sounds", ["loop", "--steps", "1", "--griffin-lim-iters", "1", "--out", "{tmp}/loop.wav"]),
    ("benchmarks.sampling", ["--num", "1", "--steps", "1", "--griffin-lim-iters", "1"]),
])
def test_a_cli_opens_the_run_once(runs, tmp_path, monkeypatch, module_name, argv):
    """The model and its sound generator come from one load of the run folder (`TrainedModel`)."""
    import importlib

    from train.run_folder import RunFolder

    calls = []
    for name in ("load_model", "codec"):
        original = getattr(RunFolder, name)
        monkeypatch.setattr(RunFolder, name, lambda self, *a, _f=original, _n=name: (calls.append(_n), _f(self, *a))[1])
    argv = [arg.format(tmp=tmp_path) for arg in argv] + ["--model", str(runs / "ddim")]
    assert importlib.import_module(module_name).main(argv) == 0
    assert sorted(calls) == ["codec", "load_model"]


def test_griffin_lim_iterations_come_from_the_call_else_the_run_else_the_constant(runs, tmp_path):
    import shutil

    import yaml

    from generate.trained_model import TrainedModel
    from preprocessing.transform import GRIFFIN_LIM_ITERATIONS

    assert TrainedModel(runs / "ddim").n_iter == GRIFFIN_LIM_ITERATIONS  # a run without the key
    model = tmp_path / "model"
    shutil.copytree(runs / "ddim", model)
    config = yaml.safe_load((model / "config.yaml").read_text())
    (model / "config.yaml").write_text(yaml.safe_dump({**config, "griffin_lim_iters": 3}))
    assert TrainedModel(model).n_iter == 3 and TrainedModel(model, n_iter=5).n_iter == 5
    out = tmp_path / "out"
    assert sounds.main(["--model", str(model), "--num", "1", "--steps", "1", "--out", str(out)]) == 0
    assert json.loads((out / "report.json").read_text())["griffin_lim_iters"] == 3
