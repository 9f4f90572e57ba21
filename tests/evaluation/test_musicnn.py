"""The Keras 3 musicnn port against outputs of the original TF1 graph (tests/fixtures/musicnn_reference.npz)."""

from pathlib import Path

import numpy as np
import pytest

from common.errors import ParameterError
from evaluation import musicnn

REFERENCE = np.load(Path(__file__).resolve().parents[1] / "fixtures" / "musicnn_reference.npz")


@pytest.fixture(scope="module", params=musicnn.MODELS)
def ported(request):
    return request.param, musicnn.load_musicnn(request.param)


def test_port_matches_the_original_graph(ported):
    name, model = ported
    outputs = model.predict(REFERENCE["patches"], verbose=0)
    for key in ("penultimate", "logits"):
        expected = REFERENCE[f"{name}_{key}"]
        assert outputs[key].shape == expected.shape
        np.testing.assert_allclose(outputs[key], expected, atol=1e-4, rtol=1e-4)


def test_port_has_the_published_size(ported):
    _, model = ported
    assert model.count_params() == 792_079  # "about 790k parameters" (musicnn README)


def test_log_mel_matches_the_reference_input():
    audio = REFERENCE["audio_int16"].astype(np.float32) / 32767
    np.testing.assert_allclose(musicnn.log_mel(audio), REFERENCE["log_mel"], atol=1e-4)


def test_log_mel_stays_finite_where_float16_overflows():
    t = np.arange(musicnn.SAMPLE_RATE * 3) / musicnn.SAMPLE_RATE
    loud = np.sign(np.sin(2 * np.pi * 110 * t)).astype(np.float32)  # full-scale square wave
    spectrogram = musicnn.log_mel(loud)
    import librosa

    mel = librosa.feature.melspectrogram(y=loud, sr=16000, n_fft=512, hop_length=256, n_mels=96)
    with np.errstate(over="ignore"):
        assert np.isinf(10000 * mel.astype(np.float16)).any()  # the package's own path overflows here
    assert np.all(np.isfinite(spectrogram))


def test_patches_cut_whole_patches_only():
    spectrogram = np.zeros((187 * 2 + 50, musicnn.N_MELS), np.float32)
    assert musicnn.patches(spectrogram).shape == (2, 187, musicnn.N_MELS)
    with pytest.raises(ParameterError, match="n_frames=100"):
        musicnn.patches(spectrogram[:100])


def test_frames_for_seconds_matches_the_training_length():
    assert musicnn.frames_for_seconds(3.0) == musicnn.PATCH_FRAMES


@pytest.mark.parametrize(
    "audio, sample_rate, match",
    [
        (np.zeros(16000, np.float32), 22050, "sample_rate=22050"),
        (np.zeros((2, 16000), np.float32), 16000, r"audio.shape=\(2, 16000\)"),
        (np.array([0.0, np.nan] * 8000, np.float32), 16000, "non_finite=8000"),
    ],
)
def test_log_mel_rejects_bad_audio(audio, sample_rate, match):
    with pytest.raises(ParameterError, match=match):
        musicnn.log_mel(audio, sample_rate)


def test_unknown_model_is_named():
    with pytest.raises(ParameterError, match="model_name='MSD_vgg_big'"):
        musicnn.checkpoint_prefix("MSD_vgg_big")
