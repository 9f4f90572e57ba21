"""Tests for preprocessing.mel_spectrogram."""

import json

import librosa
import numpy as np
import pytest

from common.errors import ParameterError
from preprocessing.mel_spectrogram import MelSpectrogramExtractor

SAMPLE_RATE = 8000
SMALL = {"n_fft": 256, "hop_length": 64, "n_mels": 40}  # 8 kHz: 31.25 Hz bins, 8 ms hops


def harmonic_signal(duration_s, sample_rate=SAMPLE_RATE, f0=220.0, n_harmonics=5):
    """A tone with harmonics 1/k and a slow tremolo, amplitude < 0.5."""
    t = np.arange(round(duration_s * sample_rate)) / sample_rate
    signal = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, n_harmonics + 1))
    envelope = 0.6 + 0.4 * np.sin(2 * np.pi * 1.5 * t)
    return (0.2 * envelope * signal).astype(np.float32)


def sine(frequency, duration_s=0.5, sample_rate=SAMPLE_RATE, amplitude=0.5):
    t = np.arange(round(duration_s * sample_rate)) / sample_rate
    return (amplitude * np.sin(2 * np.pi * frequency * t)).astype(np.float32)


def linear(transform, mel_db):
    """Undo the dB of a log-mel spectrogram: the linear mel, magnitude**power units."""
    return 10.0 ** (mel_db.astype(np.float64) * transform.power / 20.0)


def spectral_convergence(reference, estimate):
    return float(np.linalg.norm(reference - estimate) / np.linalg.norm(reference))


# === Shapes ===


@pytest.mark.parametrize(
    "sample_rate, n_fft, hop_length, n_mels, n_samples",
    [(16000, 1024, 256, 128, 49152), (16000, 1024, 256, 64, 49151), (8000, 256, 64, 40, 1000), (8000, 256, 64, 1, 64)],
)
def test_extract_shape_dtype_and_frame_count(sample_rate, n_fft, hop_length, n_mels, n_samples):
    transform = MelSpectrogramExtractor(sample_rate, n_fft=n_fft, hop_length=hop_length, n_mels=n_mels)
    mel = transform.extract(np.full(n_samples, 0.1, dtype=np.float32))
    assert mel.dtype == np.float32
    assert mel.shape == (n_mels, n_samples // hop_length) == (transform.n_freq_bins, transform.frames_for(n_samples))


def test_default_clip_is_128_by_192():
    transform = MelSpectrogramExtractor(16000)
    assert transform.frames_for(49152) == 192  # 3.072 s at 16 kHz, hop 256
    assert transform.extract(harmonic_signal(3.072, sample_rate=16000)).shape == (128, 192)


def test_extract_batch_matches_extract():
    transform = MelSpectrogramExtractor(SAMPLE_RATE, **SMALL)
    signals = np.stack([harmonic_signal(0.3), sine(1000.0, 0.3)])
    batch = transform.extract_batch(signals, sample_rate=SAMPLE_RATE)
    assert batch.shape == (2, 40, transform.frames_for(signals.shape[1]))
    for item, signal in zip(batch, signals):
        np.testing.assert_allclose(item, transform.extract(signal), atol=1e-4)


def test_matches_librosa_melspectrogram():
    transform = MelSpectrogramExtractor(SAMPLE_RATE, **SMALL, htk=True, norm=None, power=2.0, log=False)
    signal = harmonic_signal(0.5)
    reference = librosa.feature.melspectrogram(
        y=signal, sr=SAMPLE_RATE, n_fft=256, hop_length=64, n_mels=40, htk=True, norm=None, pad_mode="constant"
    )[:, : transform.frames_for(len(signal))]
    np.testing.assert_allclose(transform.extract(signal), reference, rtol=1e-4, atol=1e-6 * reference.max())


# === Values ===


@pytest.mark.parametrize("htk", [False, True])
def test_sine_lands_in_its_mel_band(htk):
    transform = MelSpectrogramExtractor(SAMPLE_RATE, **SMALL, htk=htk)
    centres = librosa.mel_frequencies(transform.n_mels + 2, fmin=0.0, fmax=SAMPLE_RATE / 2, htk=htk)[1:-1]
    for frequency in (250.0, 1000.0, 3000.0):
        mel_db = transform.extract(sine(frequency))[:, 5:-5]
        expected_band = int(np.argmin(np.abs(centres - frequency)))
        assert np.all(np.argmax(mel_db, axis=0) == expected_band), frequency
        assert np.all(mel_db[expected_band] > mel_db.min(axis=0) + 60)


def test_htk_and_slaney_scales_differ():
    slaney = MelSpectrogramExtractor(SAMPLE_RATE, **SMALL, htk=False)
    htk = MelSpectrogramExtractor(SAMPLE_RATE, **SMALL, htk=True)
    assert not np.allclose(slaney.mel_basis, htk.mel_basis)
    signal = harmonic_signal(0.3)
    assert np.max(np.abs(slaney.extract(signal) - htk.extract(signal))) > 3.0  # dB


@pytest.mark.parametrize("power", [1.0, 2.0])
def test_log_is_20_over_power_log10_of_linear_floored_at_amin(power):
    kwargs = dict(SMALL, power=power, amin=1e-5)
    log_mel = MelSpectrogramExtractor(SAMPLE_RATE, **kwargs).extract(harmonic_signal(0.3))
    linear_mel = MelSpectrogramExtractor(SAMPLE_RATE, **kwargs, log=False).extract(harmonic_signal(0.3))
    assert linear_mel.dtype == np.float32 and np.all(linear_mel >= 0)
    expected = (20.0 / power) * np.log10(np.maximum(linear_mel.astype(np.float64), 1e-5**power))
    np.testing.assert_allclose(log_mel, expected, atol=1e-3)


def test_silence_sits_at_the_floor_and_top_db_floors_each_spectrogram():
    transform = MelSpectrogramExtractor(SAMPLE_RATE, **SMALL, amin=1e-5)
    # float32 log10 rounds by the CPU's SIMD path: -100.0 with AVX2, -100.00001 with AVX-512
    np.testing.assert_allclose(transform.extract(np.zeros(1024, np.float32)), -100.0, rtol=0, atol=1e-4)
    assert transform.min_db == pytest.approx(-100.0)
    clipped = MelSpectrogramExtractor(SAMPLE_RATE, **SMALL, top_db=40.0).extract(sine(1000.0))
    assert clipped.max() - clipped.min() == pytest.approx(40.0, abs=1e-3)
    silent = MelSpectrogramExtractor(SAMPLE_RATE, **SMALL, log=False).extract(np.zeros(1024, np.float32))
    np.testing.assert_array_equal(silent, 0.0)


# === Inverse ===

# Spectral convergence of the re-analysed linear mel spectrogram after 32 fast
# Griffin-Lim iterations, harmonic tone, 8 kHz, n_fft 256, 40 bands (Slaney),
# measured over seeds 0-4: nnls 0.056-0.070, pinv 0.13-0.165; zero phase: 0.97-0.99.
ROUND_TRIP_LIMITS = {"nnls": 0.1, "pinv": 0.22}


@pytest.mark.parametrize("inverse", ["nnls", "pinv"])
@pytest.mark.parametrize("log", [True, False])
def test_invert_round_trip_spectral_convergence(inverse, log):
    transform = MelSpectrogramExtractor(SAMPLE_RATE, **SMALL, inverse=inverse, log=log)
    signal = harmonic_signal(1.0)
    mel = transform.extract(signal)
    audio = transform.invert(mel, n_iter=32, random_state=0)
    assert audio.dtype == np.float32
    assert audio.shape == (mel.shape[1] * 64,)
    rebuilt = transform.extract(audio)
    target, estimate = (linear(transform, mel), linear(transform, rebuilt)) if log else (mel, rebuilt)
    assert spectral_convergence(target, estimate) < ROUND_TRIP_LIMITS[inverse]
    # Zero phase is no reconstruction; shows the test can fail.
    magnitudes = transform.stft_magnitude(mel)
    zero_phase = librosa.istft(magnitudes, hop_length=64, n_fft=256, length=audio.shape[0]).astype(np.float32)
    bad = transform.extract(zero_phase)
    bad = linear(transform, bad) if log else bad
    assert spectral_convergence(target, bad) > 0.5


def test_nnls_fits_the_bands_better_than_the_pseudo_inverse():
    signal = harmonic_signal(0.5)
    fits = {}
    for inverse in ("nnls", "pinv"):
        transform = MelSpectrogramExtractor(SAMPLE_RATE, **SMALL, inverse=inverse, log=False)
        mel = transform.extract(signal).astype(np.float64)
        magnitudes = transform.stft_magnitude(mel)
        assert magnitudes.shape == (129, mel.shape[1]) and np.all(magnitudes >= 0)
        fits[inverse] = spectral_convergence(mel, transform.mel_basis @ magnitudes**transform.power)
    assert fits["nnls"] < 0.01 < fits["pinv"]


def test_invert_output_length_is_exact():
    transform = MelSpectrogramExtractor(SAMPLE_RATE, **SMALL, inverse="pinv")
    signal = harmonic_signal(0.25)  # 2000 samples, 31 whole hops
    mel = transform.extract(signal)
    assert transform.invert(mel, n_iter=2, random_state=0).shape == (31 * 64,)
    assert transform.invert(mel, n_iter=2, random_state=0, length=len(signal)).shape == (2000,)
    assert transform.invert(mel, n_iter=2, random_state=0, length=100).shape == (100,)


def test_linear_inverse_treats_negative_values_as_zero():
    transform = MelSpectrogramExtractor(SAMPLE_RATE, **SMALL, log=False, inverse="pinv")
    mel = transform.extract(harmonic_signal(0.25))
    noisy = mel - 1e-3 * mel.max()
    np.testing.assert_allclose(transform.stft_magnitude(noisy), transform.stft_magnitude(np.maximum(noisy, 0)))


# === Config ===


def test_config_round_trip_through_json():
    transform = MelSpectrogramExtractor(
        22050, n_fft=2048, win_length=1024, hop_length=512, n_mels=80, fmin=30.0, fmax=8000.0, power=1.0, htk=True,
        norm=None, log=False, amin=1e-6, top_db=80.0, inverse="pinv", window="hamming",
    )
    config = json.loads(json.dumps(transform.get_config()))
    rebuilt = MelSpectrogramExtractor.from_config(config)
    assert type(rebuilt) is MelSpectrogramExtractor
    assert rebuilt.get_config() == transform.get_config() == config
    assert repr(rebuilt) == repr(transform)
    assert repr(transform).startswith("MelSpectrogramExtractor(sample_rate=22050, n_fft=2048")
    defaults = MelSpectrogramExtractor(16000).get_config()
    assert defaults["fmax"] == 8000.0 and defaults["win_length"] == 1024


def test_from_config_rejects_unknown_keys():
    with pytest.raises(ParameterError, match="Bad MelSpectrogramExtractor config"):
        MelSpectrogramExtractor.from_config({"sample_rate": 16000, "n_bins": 3})


# === Errors ===


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"fmax": 4001.0}, "fmax"),
        ({"fmin": 500.0, "fmax": 400.0}, "fmax"),
        ({"fmin": -1.0}, "fmin"),
        ({"fmin": 4000.0}, "fmin"),
        ({"n_mels": 0}, "n_mels"),
        ({"n_mels": 2.5}, "n_mels"),
        ({"power": 0.0}, "power"),
        ({"htk": "yes"}, "htk"),
        ({"norm": "l2"}, "norm"),
        ({"log": 1}, "log"),
        ({"amin": 0.0}, "amin"),
        ({"top_db": -3.0}, "top_db"),
        ({"inverse": "lstsq"}, "inverse"),
        ({"n_fft": 255}, "n_fft"),
        ({"hop_length": 512, "n_fft": 256}, "hop_length"),
        ({"window": 3}, "window"),
    ],
)
def test_bad_arguments_name_themselves(kwargs, name):
    with pytest.raises(ParameterError, match=rf"Received: {name}="):
        MelSpectrogramExtractor(SAMPLE_RATE, **kwargs)


def test_bad_signals_are_rejected():
    transform = MelSpectrogramExtractor(SAMPLE_RATE, **SMALL)
    with pytest.raises(ParameterError, match=r"8000 Hz.*Received: sample_rate=16000"):
        transform.extract(sine(440.0), sample_rate=16000)
    with pytest.raises(ParameterError, match="1-D"):
        transform.extract(np.zeros((2, 1000), np.float32))
    with pytest.raises(ParameterError, match="non-finite"):
        transform.extract(np.array([0.0, np.nan] * 500, np.float32))
    with pytest.raises(ParameterError, match="shorter than one hop"):
        transform.extract(np.zeros(63, np.float32))
    transform.extract(sine(440.0), sample_rate=8000)  # the right rate is fine


def _with_inf(shape):
    mel = np.zeros(shape)
    mel[3, 4] = np.inf
    return mel


@pytest.mark.parametrize(
    "mel, kwargs, message",
    [
        (np.zeros((39, 10)), {}, r"n_mels = 40.*Received: mel.shape=\(39, 10\)"),
        (np.zeros((40, 0)), {}, r"Received: mel.shape=\(40, 0\)"),
        (np.zeros(40), {}, r"Received: mel.shape=\(40,\)"),
        (_with_inf((40, 10)), {}, "non-finite"),
        (np.zeros((40, 10)), {"n_iter": 0}, "Received: n_iter=0"),
        (np.zeros((40, 10)), {"momentum": -1.0}, "Received: momentum=-1.0"),
    ],
)
def test_bad_spectrograms_are_rejected_by_invert(mel, kwargs, message):
    with pytest.raises(ParameterError, match=message):
        MelSpectrogramExtractor(SAMPLE_RATE, **SMALL).invert(mel, **kwargs)
