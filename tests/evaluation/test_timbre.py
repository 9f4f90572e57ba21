"""Timbre features: held and struck notes differ where the module says they do."""

import librosa
import numpy as np

from evaluation.mode import fit_classifier
from evaluation.timbre import N_BANDS, features

SAMPLE_RATE, N_FFT = 8000, 256


def _spectrogram_db(decay, f0, seconds=1.0):
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    envelope = np.exp(-decay * (t % 0.25))  # a note every 0.25 s; decay 0 = one held note
    y = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 6)) * envelope
    magnitude = np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=64))[:-1]  # the Nyquist bin dropped
    return 20 * np.log10(np.maximum(magnitude, 1e-4))


def test_struck_notes_move_the_bands_and_the_onsets_held_ones_do_not():
    held, struck = features([_spectrogram_db(0.0, 220.0), _spectrogram_db(20.0, 220.0)], SAMPLE_RATE, N_FFT)
    assert held.shape == (2 * N_BANDS + 2,)
    band_std = slice(N_BANDS, 2 * N_BANDS)
    assert struck[band_std].mean() > held[band_std].mean() + 3.0  # dB
    assert struck[-2] > 2 * held[-2]  # onset strength


def test_a_classifier_on_timbre_features_separates_held_from_struck():
    rng = np.random.default_rng(0)
    f0s = rng.uniform(150, 400, size=12)
    x = features([_spectrogram_db(d, f) for f in f0s for d in (0.0, 15.0)], SAMPLE_RATE, N_FFT)
    y = np.tile([0, 1], len(f0s))
    classifier = fit_classifier(x[:16], y[:16])
    assert classifier.score(x[16:], y[16:]) == 1.0
