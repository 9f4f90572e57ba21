"""Simple, cited audio descriptors to compare generated clips with real ones in numbers.

These are not a quality score (the Fréchet Audio Distance is the field's
measure); they tell at a glance whether generated audio has the loudness,
tonality and rhythm of the music it imitates, and they are cheap to compute.
"""

import librosa
import numpy as np


def audio_statistics(audio, sample_rate):
    """Descriptors of one mono clip.

    Args:
        audio: float array ``(n_samples,)``, nominally in [-1, 1].
        sample_rate: Hz.
    Returns:
        dict of floats:
        ``rms_db`` (dBFS, RMS level),
        ``spectral_flatness`` (in [0, 1]; about 1 for white noise, near 0 for tones;
        Johnston 1988, geometric over arithmetic mean of the power spectrum, librosa),
        ``spectral_centroid_hz`` (Hz, the power-weighted mean frequency),
        ``onsets_per_s`` (note onsets per second from librosa's spectral-flux onset
        detector, Böck and Widmer 2013),
        ``chroma_peakiness`` (in [1/12, 1]; mean over frames of the largest of the 12
        normalised chroma bins: high when a few pitch classes dominate, as in chords).
    """
    audio = np.asarray(audio, dtype=np.float32)
    rms = float(np.sqrt(np.mean(audio**2)) + 1e-12)
    flatness = float(np.mean(librosa.feature.spectral_flatness(y=audio)))
    centroid = float(np.mean(librosa.feature.spectral_centroid(y=audio, sr=sample_rate)))
    onsets = librosa.onset.onset_detect(y=audio, sr=sample_rate, units="time")
    chroma = librosa.feature.chroma_stft(y=audio, sr=sample_rate)
    chroma = chroma / (chroma.sum(axis=0, keepdims=True) + 1e-12)
    return {
        "rms_db": 20.0 * np.log10(rms),
        "spectral_flatness": flatness,
        "spectral_centroid_hz": centroid,
        "onsets_per_s": len(onsets) / (len(audio) / sample_rate),
        "chroma_peakiness": float(np.mean(chroma.max(axis=0))),
    }


def mean_statistics(clips, sample_rate):
    """Mean of `audio_statistics` over a list of clips (dict of floats, rounded to 4 digits)."""
    rows = [audio_statistics(clip, sample_rate) for clip in clips]
    return {key: round(float(np.mean([row[key] for row in rows])), 4) for key in rows[0]}
