"""Every representation end to end on a CPU: preprocess, train both models a few steps, sample to WAV."""

import json

import numpy as np
import pretty_midi
import pytest
import soundfile as sf

from common.errors import ParameterError
from conftest import TINY_MODELS, tiny_preprocess_config, write_tones
from generate import sounds
from preprocessing.pipeline import PreprocessingPipeline
from preprocessing.representations import REPRESENTATIONS, build_transform
from preprocessing.dataset_folder import DatasetFolder
from preprocessing.transform_io import load_transform
from train import autoencoder as train_autoencoder
from train import diffusion as train_diffusion

# per representation: config overrides giving clips whose sides divide by 8 (the tiny U-Net's need)
SETTINGS = {
    "log_stft": ({}, "LogSpectrogramExtractor", (128, 128)),
    "mel": ({"n_mels": 32, "fmax": 4000.0}, "MelSpectrogramExtractor", (32, 128)),
    "mdct": ({"frame_length": 256, "clip_duration_s": 1.008}, "MdctTransform", (128, 64)),  # 63 hops -> 64 frames
    "piano_roll": ({"frames_per_second": 62.5}, "PianoRollTransform", (128, 64)),  # hop 128 at 8 kHz
    # 2 s at 120 bpm: 16 sixteenths; 48 pitches (36-83), two channels (onsets, sustain)
    "score_roll": ({"clip_duration_s": 2.0}, "ScoreRollTransform", (48, 16, 2)),
}
MIDI_NAMES = ("piano_roll", "score_roll")


def write_midis(folder, count=8, seconds=3.0):
    """``count`` MIDI files of four-note chords changing every half second."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        midi = pretty_midi.PrettyMIDI()
        organ = pretty_midi.Instrument(program=19)
        for k, start in enumerate(np.arange(0.0, seconds, 0.5)):
            root = 48 + (i * 5 + k * 7) % 12
            organ.notes += [pretty_midi.Note(80, root + step, start, start + 0.45) for step in (0, 4, 7, 12)]
        midi.instruments.append(organ)
        midi.write(str(folder / f"piece{i:02d}.mid"))
    return folder


@pytest.fixture(scope="module", params=REPRESENTATIONS)
def dataset(request, tmp_path_factory):
    name = request.param
    overrides, class_name, shape = SETTINGS[name]
    root = tmp_path_factory.mktemp(name)
    source = write_midis(root / "midi") if name in MIDI_NAMES else write_tones(root / "audio")
    config = tiny_preprocess_config(source, root / "data", representation=name, **overrides)
    report = PreprocessingPipeline(config).run(progress=False)
    return name, class_name, shape, root / "data", report


def test_pipeline_writes_the_representation(dataset):
    name, class_name, shape, data_dir, report = dataset
    assert not report.skipped and report.clips_per_split["train"] > 0
    assert json.loads((data_dir / "transform.json").read_text())["class"] == class_name
    rows = DatasetFolder(data_dir).rows
    for row in rows[:5]:
        clip = np.load(data_dir / row["path"])
        assert clip.shape == shape and np.all(np.isfinite(clip))
    if name == "mdct":  # the coefficient scale was fitted on the train files and saved
        transform = load_transform(data_dir / "transform.json")
        assert transform.scale != 1.0 and f"  scale: {transform.scale}" in (data_dir / "config.yaml").read_text()
    if name in MIDI_NAMES:
        assert rows[0]["source_path"].endswith(".mid") and report.normaliser.max_value <= 1.0
    # audio clips have a level (dBFS) each; a roll has no audio clips, so the pipeline renders its train clips
    # to measure them, and the train split's summary is there for both
    levels = {row["rms_dbfs"] is None for row in rows}
    summary = json.loads((data_dir / "normalisation.json").read_text()).get("clip_rms_dbfs")
    assert levels == ({True} if name in MIDI_NAMES else {False})
    train_clips = sum(row["split"] == "train" for row in rows)
    assert summary["clips"] == min(train_clips, 200) and -60.0 < summary["median"] <= summary["p95"] <= summary["max"] < 0


def test_both_models_train_and_sample_through_it(dataset, tmp_path):
    name, _, shape, data_dir, _ = dataset
    transform = load_transform(data_dir / "transform.json")
    for kind, cli in (("ddim", train_diffusion), ("autoencoder", train_autoencoder)):
        run_dir = tmp_path / kind
        pairs = [f"data_dir={data_dir}", f"run_dir={run_dir}", "epochs=1", "steps_per_epoch=2",
                 "validation_batches=0", *TINY_MODELS[kind]]
        assert cli.main([arg for pair in pairs for arg in ("--set", pair)]) == 0
        out = tmp_path / f"out_{kind}"
        assert sounds.main(["--model", str(run_dir), "--num", "2", "--steps", "2", "--out", str(out)]) == 0
        for i in range(2):
            audio, sample_rate = sf.read(out / f"generated_{i:02d}.wav")
            assert sample_rate == 8000 and audio.shape == (transform.samples_for(shape[1]),)
            assert np.all(np.isfinite(audio))
            assert (out / f"generated_{i:02d}.mid").is_file() == (name in MIDI_NAMES)
        assert (out / "comparison.png").stat().st_size > 1000


def test_unknown_representation_is_named(tmp_path):
    with pytest.raises(ParameterError, match="representation='cqt'"):
        tiny_preprocess_config(tmp_path, tmp_path / "out", representation="cqt")


def test_a_representation_key_is_checked_by_its_transform(tmp_path):
    with pytest.raises(ParameterError, match="n_mels"):
        tiny_preprocess_config(tmp_path, tmp_path / "out", representation="mel", n_mels=0)
    # keys of other representations are not used, so they are not checked against this one
    assert build_transform(tiny_preprocess_config(tmp_path, tmp_path / "o", n_mels=0)).n_freq_bins == 128


@pytest.mark.parametrize("name", ["stft", "mel", "mdct", "piano_roll"])
def test_shipped_preprocessing_configs_fit_the_default_unet(name):
    from common.config import load_config
    from preprocessing.config import PreprocessConfig

    config = load_config(PreprocessConfig, f"configs/chorales_{name}.yaml")
    transform = build_transform(config)
    assert config.representation == ("log_stft" if name == "stft" else name)
    # patch 4 and three 2x downsamplings: both sides divisible by 32
    assert transform.n_freq_bins % 32 == 0 and config.n_frames % 32 == 0
