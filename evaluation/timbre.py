"""Timbre features of log-STFT spectrograms: which instrument plays, for a classifier trained on real clips.

The counterpart of `evaluation.mode` for labels that name an instrument (e.g. the
chorales rendered on organ and on piano). A clip is described by its spectral
envelope and by how that envelope moves in time, the two cues that separate
sustained from struck instruments (Grey, "Multidimensional perceptual scaling of
musical timbres", JASA 1977; the spectral and temporal descriptors of Peeters et
al., "The Timbre Toolbox", JASA 2011):

* the time-averaged level of each of ``n_bands`` mel bands (dB, ``librosa.feature.melspectrogram``);
* the standard deviation over time of each band's level (dB): notes that decay move it, held ones do not;
* the mean and standard deviation of the onset strength (``librosa.onset.onset_strength``
  on the mel dB frames: the mean positive frame-to-frame change), which struck notes raise.

The classifier is `evaluation.mode.fit_classifier` (a standardised logistic regression).
"""

import librosa
import numpy as np

N_BANDS = 32


def timbre_features(spectrogram_db, sample_rate, n_fft, n_bands=N_BANDS):
    """The features of the module docstring for one log-STFT spectrogram.

    Args:
        spectrogram_db: float ``(n_fft // 2, n_frames)`` log-magnitude in dB (the
            `preprocessing.log_spectrogram` layout: the Nyquist bin dropped).
        sample_rate: Hz.
        n_fft: the STFT size.
        n_bands: mel bands.
    Returns:
        float64 ``(2 * n_bands + 2,)``: band means (dB), band standard deviations (dB),
        onset-strength mean and standard deviation (dB per frame).
    """
    magnitude = 10.0 ** (np.asarray(spectrogram_db, np.float64) / 20.0)
    power = np.vstack([magnitude, np.zeros((1, magnitude.shape[1]))]) ** 2  # the Nyquist bin back, as 0
    mel_db = librosa.power_to_db(
        librosa.feature.melspectrogram(S=power, sr=sample_rate, n_fft=n_fft, n_mels=n_bands), amin=1e-10
    )
    onsets = librosa.onset.onset_strength(S=mel_db, sr=sample_rate)
    return np.concatenate([mel_db.mean(axis=1), mel_db.std(axis=1), [onsets.mean(), onsets.std()]])


def features(spectrograms_db, sample_rate, n_fft):
    """`timbre_features` of each spectrogram: float64 ``(n, 2 * N_BANDS + 2)``."""
    return np.stack([timbre_features(s, sample_rate, n_fft) for s in spectrograms_db])
