"""Tests for preprocessing.log_spectrogram and preprocessing.transform_io."""

import io
import json

import librosa
import numpy as np
import pytest

from common.errors import ParameterError
from preprocessing.log_spectrogram import LogSpectrogramExtractor
from preprocessing.transform_io import load_transform, save_transform

SAMPLE_RATE = 16000


def harmonic_signal(duration_s, sample_rate=SAMPLE_RATE, f0=220.0, n_harmonics=5):
    """A tone with harmonics 1/k and a slow tremolo, amplitude < 0.5."""
    t = np.arange(int(round(duration_s * sample_rate))) / sample_rate
    signal = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, n_harmonics + 1))
    envelope = 0.6 + 0.4 * np.sin(2 * np.pi * 1.5 * t)
    return (0.2 * envelope * signal).astype(np.float32)


@pytest.mark.parametrize(
    "n_fft, hop_length, n_samples",
    [(1024, 256, 49152), (1024, 256, 49151), (512, 128, 16000), (256, 64, 1000)],
)
def test_extract_shape_and_dtype(n_fft, hop_length, n_samples):
    transform = LogSpectrogramExtractor(SAMPLE_RATE, n_fft=n_fft, hop_length=hop_length)
    spectrogram = transform.extract(np.zeros(n_samples, dtype=np.float32) + 0.1)
    assert spectrogram.dtype == np.float32
    assert spectrogram.shape == (n_fft // 2, n_samples // hop_length)
    assert transform.frames_for(n_samples) == n_samples // hop_length


def test_default_clip_is_512_by_192():
    transform = LogSpectrogramExtractor(SAMPLE_RATE)
    assert transform.extract(harmonic_signal(3.072)).shape == (512, 192)


def test_sine_lands_in_its_bin_with_expected_db():
    transform = LogSpectrogramExtractor(SAMPLE_RATE, n_fft=1024, hop_length=256)
    k = 64  # 64 * 16000 / 1024 = 1000 Hz, exactly on a bin
    frequency = k * SAMPLE_RATE / 1024
    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    amplitude = 0.5
    spectrogram = transform.extract((amplitude * np.sin(2 * np.pi * frequency * t)).astype(np.float32))
    middle = spectrogram[:, 10:-10]
    assert np.all(np.argmax(middle, axis=0) == k)
    # A periodic Hann window of length N sums to N/2; a sine's peak is A * sum(w) / 2.
    expected_db = 20 * np.log10(amplitude * 1024 / 4)
    np.testing.assert_allclose(middle[k], expected_db, atol=0.05)
    assert np.all(middle[k + 5] < expected_db - 40)


def test_silence_sits_at_the_floor():
    transform = LogSpectrogramExtractor(SAMPLE_RATE, amin=1e-4)
    spectrogram = transform.extract(np.zeros(4096, dtype=np.float32))
    np.testing.assert_array_equal(spectrogram, np.float32(-80.0))
    assert transform.min_db == pytest.approx(-80.0)


def test_invert_round_trip_spectral_convergence():
    transform = LogSpectrogramExtractor(SAMPLE_RATE, n_fft=1024, hop_length=256)
    signal = harmonic_signal(1.024)
    spectrogram_db = transform.extract(signal)
    audio = transform.invert(spectrogram_db, n_iter=32, random_state=0)
    assert audio.dtype == np.float32
    assert audio.shape == (spectrogram_db.shape[1] * 256,)
    target = 10 ** (spectrogram_db / 20)
    rebuilt = 10 ** (transform.extract(audio) / 20)
    spectral_convergence = np.linalg.norm(target - rebuilt) / np.linalg.norm(target)
    assert spectral_convergence < 0.1
    # Zero phase is no reconstruction; shows the test can fail.
    zero_phase = librosa.istft(
        np.concatenate([target, np.zeros((1, target.shape[1]))]), hop_length=256, n_fft=1024, length=audio.shape[0]
    )
    bad = 10 ** (transform.extract(zero_phase.astype(np.float32)) / 20)
    assert np.linalg.norm(target - bad) / np.linalg.norm(target) > 0.3


def test_invert_length_and_reproducibility():
    transform = LogSpectrogramExtractor(SAMPLE_RATE, n_fft=256, hop_length=64)
    spectrogram_db = transform.extract(harmonic_signal(0.25))
    first = transform.invert(spectrogram_db, n_iter=4, length=3000, random_state=1)
    second = transform.invert(spectrogram_db, n_iter=4, length=3000, random_state=1)
    assert first.shape == (3000,)
    np.testing.assert_array_equal(first, second)


def test_config_round_trip():
    transform = LogSpectrogramExtractor(22050, n_fft=512, win_length=400, hop_length=100, amin=1e-5, window="hamming")
    config = transform.get_config()
    assert config == {
        "sample_rate": 22050,
        "n_fft": 512,
        "win_length": 400,
        "hop_length": 100,
        "amin": 1e-5,
        "window": "hamming",
    }
    rebuilt = LogSpectrogramExtractor.from_config(config)
    assert rebuilt.get_config() == config
    assert LogSpectrogramExtractor(SAMPLE_RATE).win_length == 1024


def test_save_load_transform_round_trip(tmp_path):
    transform = LogSpectrogramExtractor(SAMPLE_RATE, n_fft=512, hop_length=128)
    path = save_transform(transform, tmp_path / "transform.json")
    payload = json.loads(path.read_text())
    assert payload["class"] == "LogSpectrogramExtractor"
    loaded = load_transform(path)
    assert isinstance(loaded, LogSpectrogramExtractor)
    assert loaded.get_config() == transform.get_config()
    signal = harmonic_signal(0.5)
    np.testing.assert_array_equal(loaded.extract(signal), transform.extract(signal))


def test_load_transform_errors(tmp_path):
    with pytest.raises(ParameterError, match="not found"):
        load_transform(tmp_path / "missing.json")
    path = tmp_path / "unknown.json"
    path.write_text(json.dumps({"class": "ConstantQExtractor", "config": {}}))
    with pytest.raises(ParameterError, match="Received: class='ConstantQExtractor'"):
        load_transform(path)
    path.write_text(json.dumps({"class": "LogSpectrogramExtractor", "config": {"sample_rate": 1, "bogus": 2}}))
    with pytest.raises(ParameterError, match="Bad LogSpectrogramExtractor config"):
        load_transform(path)
    with pytest.raises(ParameterError, match="not registered"):
        save_transform(object(), tmp_path / "x.json")


def test_extract_batch_is_extract_item_by_item_bytes_included():
    transform = LogSpectrogramExtractor(SAMPLE_RATE)
    signals = np.stack([harmonic_signal(3.072, f0=f0) for f0 in (110.0, 220.0, 330.0)])
    batch = transform.extract_batch(signals)
    assert batch.shape == (3, 512, 192) and batch.dtype == np.float32
    for signal, item in zip(signals, batch):
        # the formula the transform is defined by, on one signal
        window = librosa.filters.get_window("hann", 1024, fftbins=True).astype(np.float32)  # float32 throughout
        stft = librosa.stft(signal, n_fft=1024, hop_length=256, win_length=1024, window=window, center=True)
        reference = (20.0 * np.log10(np.maximum(np.abs(stft[:512, :192]), 1e-4))).astype(np.float32)
        np.testing.assert_array_equal(item, reference)
        # and within 0.02 dB of librosa's float64 STFT wherever the level is above -60 dB
        stft64 = librosa.stft(signal, n_fft=1024, hop_length=256, win_length=1024, window="hann", center=True)
        reference64 = 20.0 * np.log10(np.maximum(np.abs(stft64[:512, :192]), 1e-4))
        loud = reference64 > -60.0
        assert loud.mean() > 0.1
        np.testing.assert_allclose(item[loud], reference64[loud], atol=0.02)
        np.testing.assert_array_equal(transform.extract(signal), reference)
        # the same memory layout too, so a saved clip is byte for byte the same
        saved_item, saved_reference = io.BytesIO(), io.BytesIO()
        np.save(saved_item, item)
        np.save(saved_reference, reference)
        assert saved_item.getvalue() == saved_reference.getvalue()


@pytest.mark.parametrize(
    "signals, match",
    [
        (np.zeros(4096, dtype=np.float32), r"2-D.*shape=\(4096,\)"),
        (np.zeros((0, 4096), dtype=np.float32), r"n_signals >= 1.*shape=\(0, 4096\)"),
        (np.full((2, 4096), np.inf, dtype=np.float32), "non-finite"),
    ],
)
def test_extract_batch_rejects_bad_signals(signals, match):
    with pytest.raises(ParameterError, match=match):
        LogSpectrogramExtractor(SAMPLE_RATE).extract_batch(signals)


@pytest.mark.parametrize(
    "signal, match",
    [
        (np.zeros((2, 4096), dtype=np.float32), r"1-D.*shape=\(2, 4096\)"),
        (np.full(4096, np.nan, dtype=np.float32), "non-finite"),
        (np.zeros(100, dtype=np.float32), r"shorter than one hop.*signal.shape=\(100,\)"),
    ],
)
def test_extract_rejects_bad_signal(signal, match):
    with pytest.raises(ParameterError, match=match):
        LogSpectrogramExtractor(SAMPLE_RATE).extract(signal)


@pytest.mark.parametrize(
    "spectrogram, match",
    [
        (np.zeros((512, 8, 1), dtype=np.float32), r"2-D.*shape=\(512, 8, 1\)"),
        (np.zeros((513, 8), dtype=np.float32), r"512 frequency bins.*shape=\(513, 8\)"),
        (np.full((512, 8), np.inf, dtype=np.float32), "non-finite"),
    ],
)
def test_invert_rejects_bad_spectrogram(spectrogram, match):
    with pytest.raises(ParameterError, match=match):
        LogSpectrogramExtractor(SAMPLE_RATE).invert(spectrogram)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"sample_rate": 0}, "sample_rate"),
        ({"n_fft": 1023}, "n_fft"),
        ({"win_length": 2048}, "win_length"),
        ({"win_length": 512, "hop_length": 600}, "hop_length"),
        ({"amin": 0.0}, "amin"),
        ({"window": 3}, "window"),
    ],
)
def test_bad_constructor_arguments(kwargs, name):
    kwargs = {"sample_rate": SAMPLE_RATE, **kwargs}
    with pytest.raises(ParameterError, match=f"Received: {name}="):
        LogSpectrogramExtractor(**kwargs)
