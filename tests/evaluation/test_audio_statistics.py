"""The audio descriptors separate tones from noise and count onsets."""

import numpy as np
import pytest

from evaluation.audio_statistics import audio_statistics, mean_statistics

SR = 16000


def notes(rate_hz, seconds=3.0):
    """Decaying A4 notes starting ``rate_hz`` times a second."""
    t = np.arange(int(seconds * SR)) / SR
    return (0.5 * np.sin(2 * np.pi * 440.0 * t) * np.exp(-12.0 * (t % (1.0 / rate_hz)))).astype("float32")


def test_tones_versus_noise():
    noise = np.random.default_rng(0).uniform(-0.5, 0.5, 3 * SR).astype("float32")
    tone, white = audio_statistics(notes(2.0), SR), audio_statistics(noise, SR)
    assert tone["spectral_flatness"] < 0.05 < white["spectral_flatness"]
    assert tone["chroma_peakiness"] > 0.5 > white["chroma_peakiness"]
    assert white["spectral_centroid_hz"] > 2000 > tone["spectral_centroid_hz"]
    assert white["rms_db"] == pytest.approx(20 * np.log10(1 / np.sqrt(12)), abs=0.2)


def test_onset_rate_follows_the_notes():
    slow, fast = audio_statistics(notes(1.0), SR), audio_statistics(notes(4.0), SR)
    assert 0.5 <= slow["onsets_per_s"] <= 1.5
    assert fast["onsets_per_s"] > 2.5 * slow["onsets_per_s"]


def test_mean_statistics_averages():
    a, b = notes(1.0), notes(4.0)
    mean = mean_statistics([a, b], SR)
    single = [audio_statistics(x, SR)["onsets_per_s"] for x in (a, b)]
    assert mean["onsets_per_s"] == pytest.approx(np.mean(single), abs=1e-3)
