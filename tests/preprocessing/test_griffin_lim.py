"""Tests for preprocessing.griffin_lim: the exact subgrids, the warm start, coarse-to-fine against full-grid Griffin-Lim."""

import librosa
import numpy as np
import pytest

from common.errors import ParameterError
from preprocessing.griffin_lim import (
    check_coarse_to_fine_grid,
    coarse_to_fine_griffin_lim,
    griffin_lim,
    warm_started_griffin_lim,
)
from preprocessing.mel_spectrogram import MelSpectrogramExtractor

# a Hann window of W = 320 zero-padded to N = 4 W, hop W / 10, at 8 kHz: Riffusion's layout scaled down
WINDOW, N_FFT, HOP, SAMPLE_RATE = 320, 1280, 32, 8000


def chord(seconds=0.4, seed=0):
    """float32 `(round(seconds * 8000) // 32 * 32,)`: three partials with vibrato and a little noise."""
    n_samples = int(seconds * SAMPLE_RATE) // HOP * HOP
    t = np.arange(n_samples) / SAMPLE_RATE
    tones = sum(np.sin(2 * np.pi * f * t + 3 * np.sin(2 * np.pi * 5 * t)) for f in (262.0, 330.0, 392.0))
    noise = 0.01 * np.random.default_rng(seed).standard_normal(n_samples)
    return (0.2 * tones + noise).astype(np.float32)


def magnitudes_of(signal, n_fft=N_FFT, hop_length=HOP):
    return np.abs(librosa.stft(signal, n_fft=n_fft, hop_length=hop_length, win_length=WINDOW))


def convergence(target, signal):
    """Spectral convergence ``|| |X| - |X_hat| ||_F / || |X| ||_F`` on the full grid."""
    return float(np.linalg.norm(magnitudes_of(signal) - target) / np.linalg.norm(target))


def test_the_coarse_and_fine_grids_are_exact_subsets_of_the_full_one():
    signal = chord()
    full = magnitudes_of(signal)  # (N/2 + 1, n_frames)
    np.testing.assert_allclose(magnitudes_of(signal, n_fft=WINDOW), full[:: N_FFT // WINDOW], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(magnitudes_of(signal, n_fft=2 * WINDOW), full[::2], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(magnitudes_of(signal, hop_length=3 * HOP), full[:, ::3], rtol=1e-4, atol=1e-4)
    # and not a coincidence of the signal: odd bins of the full grid differ from every coarse bin
    assert not np.allclose(full[1::4][:100], full[::4][:100], rtol=0.1)


def test_the_warm_start_keeps_a_consistent_estimate():
    signal = chord()
    target = magnitudes_of(signal, n_fft=2 * WINDOW)
    estimate = warm_started_griffin_lim(target, signal, 2 * WINDOW, HOP, WINDOW, n_iter=3)
    assert estimate.dtype == np.float32 and estimate.shape == signal.shape
    assert np.max(np.abs(estimate - signal)) < 1e-3  # started from the answer, it stays there
    noise = np.random.default_rng(1).standard_normal(signal.shape).astype(np.float32) * 0.1
    from_noise = warm_started_griffin_lim(target, noise, 2 * WINDOW, HOP, WINDOW, n_iter=3)
    assert np.max(np.abs(from_noise - signal)) > 0.05  # ... which a random start does not reach in 3 steps


@pytest.mark.parametrize("seed", [0, 1])
def test_coarse_to_fine_matches_full_grid_griffin_lim(seed):
    signal = chord(seed=seed)
    target = magnitudes_of(signal)
    options = {"n_fft": N_FFT, "hop_length": HOP, "win_length": WINDOW, "length": len(signal), "random_state": seed}
    coarse_to_fine = coarse_to_fine_griffin_lim(target, n_iter=32, **options)
    full_grid = librosa.griffinlim(target, n_iter=32, **options)
    assert coarse_to_fine.dtype == np.float32 and coarse_to_fine.shape == signal.shape
    random_phase = librosa.istft(target * np.exp(2j * np.pi * np.random.default_rng(seed).random(target.shape)),
                                 hop_length=HOP, win_length=WINDOW, n_fft=N_FFT, length=len(signal))
    assert convergence(target, coarse_to_fine) < 0.5 * convergence(target, random_phase)
    assert convergence(target, coarse_to_fine) < 1.2 * convergence(target, full_grid)


def test_grids_without_an_exact_subset_are_refused():
    check_coarse_to_fine_grid(1024, 256)
    with pytest.raises(ParameterError, match="Received: win_length=300"):
        check_coarse_to_fine_grid(1024, 300)
    with pytest.raises(ParameterError, match="Received: win_length=341"):
        check_coarse_to_fine_grid(1023 * 2, 341)
    with pytest.raises(ParameterError, match="Received: win_length=300"):
        MelSpectrogramExtractor(8000, n_fft=1024, win_length=300, griffin_lim="coarse_to_fine")
    with pytest.raises(ParameterError, match="Received: griffin_lim='fast'"):
        MelSpectrogramExtractor(8000, griffin_lim="fast")
    with pytest.raises(ParameterError, match="nnls_iterations"):
        MelSpectrogramExtractor(8000, nnls_iterations=0)
    config = MelSpectrogramExtractor(8000, n_fft=1024, win_length=256, griffin_lim="coarse_to_fine").get_config()
    assert config["griffin_lim"] == "coarse_to_fine" and config["nnls_iterations"] == 200
    assert MelSpectrogramExtractor.from_config(config).get_config() == config


@pytest.mark.parametrize("n_fft, win_length, hop_length, n_iter, init", [
    (N_FFT, WINDOW, HOP, 8, "random"),    # a zero-padded window
    (512, 512, 128, 16, "random"),        # the log-STFT layout scaled down
    (512, 512, 128, 3, None),
    (512, 512, 128, 0, "random"),         # no iteration: the inverse STFT of the start
])
def test_griffin_lim_on_tf_signal_is_librosas_iteration(n_fft, win_length, hop_length, n_iter, init):
    signal = chord(0.5)[: int(0.5 * SAMPLE_RATE) // hop_length * hop_length]
    target = np.abs(librosa.stft(signal, n_fft=n_fft, hop_length=hop_length, win_length=win_length))
    options = dict(n_fft=n_fft, hop_length=hop_length, win_length=win_length, length=len(signal), n_iter=n_iter,
                   momentum=0.99, init=init, random_state=3)
    expected = librosa.griffinlim(target, center=True, **options)
    got = griffin_lim(target, **options)
    assert got.dtype == np.float32 and got.shape == expected.shape
    assert np.sqrt(np.mean((got - expected) ** 2) / np.mean(expected ** 2)) < 1e-4  # float32 rounding, not a new method
    if n_iter >= 8:  # and it converges: closer to the target magnitudes than after one iteration
        def error(audio):
            return np.linalg.norm(np.abs(librosa.stft(audio, n_fft=n_fft, hop_length=hop_length, win_length=win_length))
                                  - target)
        assert error(got) < 0.8 * error(griffin_lim(target, **{**options, "n_iter": 1}))


def test_griffin_lim_takes_a_batch_and_a_length_beyond_the_frames():
    signal = chord(0.3)
    target = magnitudes_of(signal)
    one = griffin_lim(target, N_FFT, HOP, WINDOW, len(signal), n_iter=4, random_state=np.random.default_rng(0))
    both = griffin_lim(np.stack([target, target]), N_FFT, HOP, WINDOW, len(signal), n_iter=4,
                       random_state=np.random.default_rng(0))
    assert both.shape == (2, len(signal))
    np.testing.assert_allclose(both[0], one, atol=1e-5)  # the first item draws the same phase
    assert not np.allclose(both[1], one, atol=1e-3)  # the second its own
    longer = griffin_lim(target, N_FFT, HOP, WINDOW, len(signal) + 3 * N_FFT, n_iter=2, random_state=0)
    assert longer.shape == (len(signal) + 3 * N_FFT,) and not np.any(longer[len(signal) + N_FFT:])


def test_griffin_lim_bad_input_is_named():
    with pytest.raises(ParameterError, match="init='zeros'"):
        griffin_lim(np.ones((N_FFT // 2 + 1, 5), np.float32), N_FFT, HOP, WINDOW, 4 * HOP, init="zeros")
    with pytest.raises(ParameterError, match="shape=\\(10, 5\\)"):
        griffin_lim(np.ones((10, 5), np.float32), N_FFT, HOP, WINDOW, 4 * HOP)
