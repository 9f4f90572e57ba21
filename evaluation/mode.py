"""Major or minor: key-profile features of log-STFT spectrograms, and a classifier trained on real clips.

To show that a class-conditional model's labels act on its samples (issue 4), the
samples are classified by a model that never saw them: a logistic regression
(scikit-learn) trained on the real training clips' labels, whose accuracy on the
real test clips is the ceiling of what the measurement can show.

Features (the Krumhansl-Schmuckler key finding, Krumhansl, "Cognitive Foundations
of Musical Pitch", 1990, ch. 4, applied to audio chroma as in Gomez, "Tonal
Description of Music Audio Signals", 2006): the clip's mean chroma vector
(``librosa.feature.chroma_stft`` on the power spectrogram) is correlated with the
Krumhansl-Kessler major and minor profiles rotated to all 12 tonics; the features
are the best major and the best minor correlation and their difference, which do
not depend on the key.
"""

import librosa
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from common.errors import ParameterError

# Krumhansl and Kessler (1982) probe-tone ratings, tonic first
MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


def mean_chroma(spectrogram_db, sample_rate, n_fft):
    """The time-averaged chroma ``(12,)`` of one log-STFT spectrogram.

    Args:
        spectrogram_db: float ``(n_fft // 2, n_frames)`` log-magnitude in dB (the
            `preprocessing.log_spectrogram` layout: the Nyquist bin dropped).
        sample_rate: Hz.
        n_fft: the STFT size.
    Returns:
        float64 ``(12,)``, pitch classes C..B, each frame normalised to max 1 (librosa's default).
    """
    magnitude = 10.0 ** (np.asarray(spectrogram_db, np.float64) / 20.0)
    power = np.vstack([magnitude, np.zeros((1, magnitude.shape[1]))]) ** 2  # the Nyquist bin back, as 0
    return librosa.feature.chroma_stft(S=power, sr=sample_rate, n_fft=n_fft).mean(axis=1)


def key_features(chroma):
    """``(3,)``: best major correlation, best minor correlation, and their difference.

    Args:
        chroma: float ``(12,)`` mean chroma.
    Returns:
        float64 ``(3,)`` in [-1, 1] x [-1, 1] x [-2, 2].
    """
    def best(profile):
        return max(np.corrcoef(chroma, np.roll(profile, tonic))[0, 1] for tonic in range(12))

    major, minor = best(MAJOR_PROFILE), best(MINOR_PROFILE)
    return np.array([major, minor, major - minor])


def features(spectrograms_db, sample_rate, n_fft):
    """`key_features` of each spectrogram: float64 ``(n, 3)``."""
    return np.stack([key_features(mean_chroma(s, sample_rate, n_fft)) for s in spectrograms_db])


def fit_classifier(train_features, train_labels):
    """A standardised logistic regression on `features` of real clips.

    Raises:
        ParameterError: if the labels hold fewer than two classes.
    """
    if len(set(train_labels)) < 2:
        raise ParameterError(f"A classifier needs two classes or more. Received: classes={sorted(set(train_labels))}")
    return make_pipeline(StandardScaler(), LogisticRegression()).fit(train_features, train_labels)
