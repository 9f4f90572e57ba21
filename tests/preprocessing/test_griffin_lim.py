"""Tests for preprocessing.griffin_lim: the exact subgrids, the warm start, coarse-to-fine against full-grid Griffin-Lim."""

import librosa
import numpy as np
import pytest

from common.errors import ParameterError
from preprocessing.griffin_lim import (
    check_coarse_to_fine_grid,
    coarse_to_fine_griffin_lim,
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
