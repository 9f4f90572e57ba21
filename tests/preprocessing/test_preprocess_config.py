"""PreprocessConfig: shared keys plus one section per representation; the flat keys of before still load."""

import dataclasses

import pytest

import preprocessing.config as config_module
from common.config import load_config, parse_overrides, save_config
from common.errors import ParameterError
from preprocessing.config import PreprocessConfig
from preprocessing.representations import REPRESENTATIONS, LogStftSettings, MdctSettings, MelSettings, PianoRollSettings

# data/chorales_stft/config.yaml as the code before sections wrote it: every key flat
OLD_SAVED_CONFIG = """\
source: chorales
input_dir: data/chorales
genres: []
output_dir: data/chorales_stft
sample_rate: 16000
representation: log_stft
n_fft: 1024
win_length: 1024
hop_length: 256
amin: 0.0001
n_mels: 128
fmin: 0.0
fmax: null
mel_power: 2.0
htk: false
mel_norm: slaney
mel_inverse: nnls
frame_length: 1024
mdct_window: vorbis
compander: power
power_exponent: 0.5
mu: 255.0
mdct_scale: null
frames_per_second: 62.5
roll_mode: velocity
min_pitch: 0
max_pitch: 127
program: 19
clip_duration_s: 3.072
clip_hop_s: null
offset_s: 0.0
max_duration_s: null
min_tail_fraction: 0.5
silence_threshold_db: -60.0
validation_fraction: 0.1
test_fraction: 0.1
split_seed: 0
num_workers: 2
label: auto
captions_file: null
"""

# every key a flat config had for the transforms, none at its default, and the same as sections
FLAT = {
    "n_fft": 512, "win_length": 400, "hop_length": 128, "amin": 1e-5,
    "n_mels": 64, "fmin": 20.0, "fmax": 7000.0, "mel_power": 1.0, "htk": True, "mel_norm": None, "mel_inverse": "pinv",
    "frame_length": 512, "mdct_window": "kaiser_bessel_derived", "compander": "mu_law", "power_exponent": 0.25,
    "mu": 100.0, "mdct_scale": 0.5,
    "frames_per_second": 31.25, "roll_mode": "binary", "min_pitch": 24, "max_pitch": 119, "program": 0,
}
SECTIONED = {
    "log_stft": {"n_fft": 512, "win_length": 400, "hop_length": 128, "amin": 1e-5},
    "mel": {"n_fft": 512, "win_length": 400, "hop_length": 128, "amin": 1e-5, "n_mels": 64, "fmin": 20.0,
            "fmax": 7000.0, "power": 1.0, "htk": True, "norm": None, "inverse": "pinv"},
    "mdct": {"frame_length": 512, "window_type": "kaiser_bessel_derived", "compander": "mu_law",
             "power_exponent": 0.25, "mu": 100.0, "scale": 0.5},
    "piano_roll": {"frames_per_second": 31.25, "mode": "binary", "min_pitch": 24, "max_pitch": 119, "program": 0},
    "score_roll": {"program": 0},  # the one flat piano-roll key the score roll shares
}


def test_the_sections_are_the_registered_representations():
    fields = {f.name: f for f in dataclasses.fields(PreprocessConfig)}
    for name, entry in REPRESENTATIONS.items():
        assert isinstance(getattr(PreprocessConfig(), name), entry.settings)
        assert fields[name].default_factory is entry.settings
    assert len(fields) == 18 + len(REPRESENTATIONS)  # the shared keys, then one section each


def test_a_config_saved_before_sections_loads_to_the_same_config(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(OLD_SAVED_CONFIG)
    old = load_config(PreprocessConfig, path)
    assert old == PreprocessConfig() == load_config(PreprocessConfig, "configs/chorales_stft.yaml")
    assert old.n_frames == 192


@pytest.mark.parametrize("representation", list(REPRESENTATIONS))
def test_flat_and_sectioned_keys_load_to_the_same_config(representation):
    shared = {"representation": representation, "sample_rate": 16000, "source": "folder"}
    flat = load_config(PreprocessConfig, None, {**shared, **FLAT})
    sectioned = load_config(PreprocessConfig, None, {**shared, **SECTIONED})
    dotted = load_config(PreprocessConfig, None, {**shared, **{f"{section}.{key}": value for section, values in
                                                            SECTIONED.items() for key, value in values.items()}})
    assert flat == sectioned == dotted
    assert flat.log_stft == LogStftSettings(**SECTIONED["log_stft"])
    assert flat.mel == MelSettings(**SECTIONED["mel"]) and flat.mel.power == 1.0 and flat.mel.norm is None
    assert flat.mdct == MdctSettings(**SECTIONED["mdct"]) and flat.mdct.window_type == "kaiser_bessel_derived"
    assert flat.piano_roll == PianoRollSettings(**SECTIONED["piano_roll"]) and flat.piano_roll.mode == "binary"
    assert flat.settings is getattr(flat, representation)


def test_a_flat_key_sets_every_section_that_has_it_and_a_section_key_only_its_own(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("representation: mel\nmel:\n  n_mels: 64\n  n_fft: 2048\n  win_length: 2048\n")
    config = load_config(PreprocessConfig, path, parse_overrides(["hop_length=512", "log_stft.n_fft=4096",
                                                                  "log_stft.win_length=4096"]))
    assert (config.mel.n_fft, config.mel.hop_length, config.mel.n_mels) == (2048, 512, 64)
    assert (config.log_stft.n_fft, config.log_stft.hop_length) == (4096, 512)
    assert config.n_frames == 49152 // 512
    # in one mapping a section's own value wins over a flat one; the overrides win over the file
    both = load_config(PreprocessConfig, None, {"log_stft": {"hop_length": 64}, "hop_length": 128})
    assert (both.log_stft.hop_length, both.mel.hop_length) == (64, 128)
    assert load_config(PreprocessConfig, path, {"mel.n_mels": 32}).mel.n_mels == 32


@pytest.mark.parametrize(
    "overrides, message",
    [
        (["mel.bogus=1"], r"Unknown config key for the 'mel' section of PreprocessConfig: bogus\..*Received: mel.bogus=1"),
        (["cqt.n_bins=84"], r"Unknown config key\(s\) for PreprocessConfig: cqt.n_bins\..*Received: cqt.n_bins=84"),
        (["mel=3"], r"Config key 'mel' must be a mapping of its keys \(n_fft, .*\)\. Received: mel=3"),
        (["log_stft.n_fft=big"], r"must be an integer\. Received: log_stft.n_fft='big'"),
        (["log_stft.n_fft=1023"], r"Config key 'n_fft' must be even\. Received: n_fft=1023"),
        (["mdct.scale=-1.0"], r"Config key 'scale' must be null \(fitted\) or a number > 0\. Received: scale=-1.0"),
    ],
)
def test_bad_section_keys_and_values_are_named(overrides, message):
    with pytest.raises(ParameterError, match=message):
        load_config(PreprocessConfig, None, parse_overrides(overrides))


def test_an_unknown_key_in_a_yaml_section_is_named(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("piano_roll:\n  roll_mode: binary\n")  # the flat name is not a section key
    with pytest.raises(ParameterError, match="'piano_roll' section.*roll_mode.*Known keys: frames_per_second, max_pitch"):
        load_config(PreprocessConfig, path)


def test_saved_config_has_sections_and_round_trips(tmp_path):
    config = load_config(PreprocessConfig, None, {"representation": "mdct", **FLAT})
    text = save_config(config, tmp_path / "config.yaml").read_text()
    assert "mdct:\n  frame_length: 512\n  window_type: kaiser_bessel_derived" in text and "mdct_scale" not in text
    assert load_config(PreprocessConfig, tmp_path / "config.yaml") == config


def test_n_frames_builds_the_transform_once(monkeypatch):
    calls = []
    build = config_module.build_transform
    monkeypatch.setattr(config_module, "build_transform", lambda config: calls.append(1) or build(config))
    config = PreprocessConfig(representation="mdct", clip_duration_s=3.04)
    assert [config.n_frames, config.n_frames, config.n_frames] == [96, 96, 96]
    assert len(calls) == 1  # when the config was made, to validate it
    fitted = config.with_settings(dataclasses.replace(config.mdct, scale=2.0))
    assert fitted.mdct.scale == 2.0 and fitted.log_stft == config.log_stft and len(calls) == 2


def test_a_section_of_the_wrong_type_is_refused():
    with pytest.raises(ParameterError, match="'mel' must be a mapping of mel keys"):
        PreprocessConfig(mel=LogStftSettings())
