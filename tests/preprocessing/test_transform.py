"""Every registered representation implements `preprocessing.transform.Transform`, and behaves as it declares."""

import inspect
import json

import matplotlib

matplotlib.use("Agg")
import librosa.display  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from common.errors import ParameterError  # noqa: E402
from generate import long_form_cli, sounds  # noqa: E402
from preprocessing.representations import REPRESENTATIONS, representation, representation_name  # noqa: E402
from preprocessing.spectrogram_image import build_parser  # noqa: E402
from preprocessing.transform import AUDIO, GRIFFIN_LIM_ITERATIONS, INPUT_KINDS, MIDI, Transform  # noqa: E402
from preprocessing.transform_io import load_transform, save_transform  # noqa: E402

SAMPLE_RATE = 8000
# one small transform per registered representation; a new representation must add its own
SMALL = {
    "log_stft": dict(n_fft=256, hop_length=64),
    "mel": dict(n_fft=256, hop_length=64, n_mels=32, fmax=4000.0),
    "mdct": dict(frame_length=256, scale=0.5),
    "piano_roll": dict(frames_per_second=62.5),
    "score_roll": dict(tempo_bpm=120.0),
}
INVERSE_NAMES = {
    "log_stft": "Griffin-Lim, 7 iterations",
    "mel": "Griffin-Lim, 7 iterations",
    "mdct": "inverse MDCT",
    "piano_roll": "MIDI rendered by FluidSynth",
    "score_roll": "MIDI at 120 bpm rendered by FluidSynth",
}


def small(name):
    return REPRESENTATIONS[name].transform(SAMPLE_RATE, **SMALL[name])


def some_values(transform, n_frames=16):
    """Values the transform's inverse takes: of a tone for audio transforms, a chord for the piano rolls."""
    if transform.input_kind == MIDI:
        roll = np.zeros(transform.values_shape(n_frames), np.float32)
        rows = np.array([60, 64, 67]) - (transform.min_pitch if transform.n_channels == 1 else transform.lowest_pitch)
        if roll.ndim == 2:
            roll[rows, 2:12] = 0.8
        else:  # the score roll: one onset, then sustain
            roll[rows, 2:12, 1] = 0.8
            roll[rows, 2, 0] = 0.8
        return roll
    t = np.arange(transform.samples_for(n_frames)) / SAMPLE_RATE
    return transform.extract((0.3 * np.sin(2 * np.pi * 440.0 * t)).astype(np.float32))


def test_every_representation_has_a_case_here():
    assert set(SMALL) == set(REPRESENTATIONS) == set(INVERSE_NAMES)


@pytest.mark.parametrize("name", list(REPRESENTATIONS))
def test_the_class_implements_the_interface_it_declares(name):
    cls = REPRESENTATIONS[name].transform
    assert issubclass(cls, Transform) and not cls.__abstractmethods__
    assert cls.input_kind in INPUT_KINDS
    assert isinstance(cls.inverse_options, tuple) and all(isinstance(o, str) for o in cls.inverse_options)
    # the declared options are exactly the keyword options its inverse takes
    parameters = list(inspect.signature(cls._invert).parameters)
    assert parameters[:3] == ["self", parameters[1], "length"]
    assert set(parameters[3:]) == set(cls.inverse_options)
    # an iterative inverse (Griffin-Lim) is seeded; an exact one takes no seed
    assert cls.iterative_inverse == ("random_state" in cls.inverse_options)
    assert representation_name(small(name)) == name and representation(name).transform is cls


def test_only_the_rolls_read_midi_and_only_the_stft_transforms_iterate():
    assert {name: e.transform.input_kind for name, e in REPRESENTATIONS.items()} == {
        "log_stft": AUDIO, "mel": AUDIO, "mdct": AUDIO, "piano_roll": MIDI, "score_roll": MIDI}
    assert {name for name, e in REPRESENTATIONS.items() if e.transform.iterative_inverse} == {"log_stft", "mel"}


@pytest.mark.parametrize("name", list(REPRESENTATIONS))
def test_config_round_trips_through_json_and_transform_json(name, tmp_path):
    transform = small(name)
    config = json.loads(json.dumps(transform.get_config()))
    rebuilt = type(transform).from_config(config)
    assert rebuilt.get_config() == transform.get_config() and repr(rebuilt) == repr(transform)
    assert load_transform(save_transform(transform, tmp_path / "transform.json")).get_config() == transform.get_config()
    with pytest.raises(ParameterError, match="Received: config="):
        type(transform).from_config({**config, "bogus": 1})


@pytest.mark.parametrize("name", list(REPRESENTATIONS))
@pytest.mark.parametrize("n_frames", [2, 3, 17, 64])
def test_frames_for_undoes_samples_for(name, n_frames):
    transform = small(name)
    assert transform.frames_for(transform.samples_for(n_frames)) == n_frames


@pytest.mark.parametrize("name", list(REPRESENTATIONS))
@pytest.mark.parametrize("n_samples", [1, 63, 64, 65, 1000, 8192])
def test_frames_covering_is_the_fewest_frames_whose_inverse_is_long_enough(name, n_samples):
    transform = small(name)
    frames = transform.frames_covering(n_samples)
    assert frames >= 2 and transform.samples_for(frames) >= n_samples
    assert frames == 2 or transform.samples_for(frames - 1) < n_samples


@pytest.mark.parametrize("name", list(REPRESENTATIONS))
def test_extract_and_invert_agree_on_the_frame_grid(name):
    transform = small(name)
    values = some_values(transform, n_frames=16)
    assert values.shape == transform.values_shape(16) and values.dtype == np.float32
    assert values.shape[:2] == (transform.n_freq_bins, 16) and values.ndim == (2 if transform.n_channels == 1 else 3)
    options = transform.applicable_options(n_iter=2, random_state=0)
    audio = transform.invert(values, **options)
    assert audio.dtype == np.float32 and audio.shape == (transform.samples_for(16),)
    assert transform.invert(values, length=300, **options).shape == (300,)


@pytest.mark.parametrize("name", list(REPRESENTATIONS))
def test_invert_refuses_the_options_it_does_not_declare_naming_them(name):
    transform = small(name)
    values = some_values(transform)
    offered = {"n_iter": 2, "random_state": 0, "window_size": 3}
    undeclared = [option for option in offered if option not in transform.inverse_options]
    assert "window_size" in undeclared
    with pytest.raises(ParameterError, match="Received: .*window_size=3") as raised:
        transform.invert(values, **offered)
    assert all(option in str(raised.value) for option in undeclared)
    with pytest.raises(ParameterError, match="window_size"):
        transform.inverse_name(window_size=3)
    assert transform.applicable_options(**offered) == {k: v for k, v in offered.items() if k in transform.inverse_options}
    with pytest.raises(TypeError):
        transform.invert(values, 16)  # length is keyword-only: a positional n_iter is not taken as a length


def test_exact_inverses_refuse_griffin_lim_settings():
    for name in ("mdct", "piano_roll", "score_roll"):
        with pytest.raises(ParameterError, match="takes no option n_iter, random_state.*Received: n_iter=32, random_state=0"):
            small(name).invert(some_values(small(name)), n_iter=32, random_state=0)


@pytest.mark.parametrize("name", list(REPRESENTATIONS))
def test_inverse_name(name):
    transform = small(name)
    assert transform.inverse_name(**transform.applicable_options(n_iter=7)) == INVERSE_NAMES[name]
    if transform.iterative_inverse:
        assert transform.inverse_name() == f"Griffin-Lim, {GRIFFIN_LIM_ITERATIONS} iterations"


@pytest.mark.parametrize("name", list(REPRESENTATIONS))
def test_display_returns_what_specshow_takes(name):
    transform = small(name)
    values = some_values(transform)
    shown, kwargs = transform.display(values)
    assert shown.shape == values.shape[:2] and np.all(np.isfinite(shown))  # channels are drawn as one image
    assert kwargs["sr"] == SAMPLE_RATE and kwargs["hop_length"] == transform.hop_length and kwargs["x_axis"] == "time"
    assert isinstance(transform.display_unit, str) and transform.display_unit
    figure, axis = plt.subplots()
    try:
        mesh = librosa.display.specshow(shown, ax=axis, **kwargs)
        assert mesh.get_array().size == shown.size
        frame_s = transform.hop_length / SAMPLE_RATE  # the time axis is in seconds: frames of hop_length samples
        assert (values.shape[1] - 1) * frame_s <= axis.get_xlim()[1] <= values.shape[1] * frame_s
    finally:
        plt.close(figure)
    if name == "mdct":  # signed coefficients are shown as magnitudes
        assert values.min() < 0 <= shown.min()


def test_every_cli_defaults_to_the_one_griffin_lim_constant():
    # the sampling CLIs leave it to the run (`TrainedModel`: its griffin_lim_iters, else the constant)
    assert sounds.parse_args([]).griffin_lim_iters is None
    assert long_form_cli.parse_args(["long"]).griffin_lim_iters is None
    assert build_parser().parse_args(["to-audio", "a.png", "a.wav"]).griffin_lim_iters == GRIFFIN_LIM_ITERATIONS
    for name in ("log_stft", "mel"):
        assert inspect.signature(REPRESENTATIONS[name].transform._invert).parameters["n_iter"].default == GRIFFIN_LIM_ITERATIONS
