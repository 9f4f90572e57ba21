"""Degraded copies of real audio: the ceilings printed beside every score.

A metric is only readable next to the value it takes for real music that is
slightly and clearly damaged: white noise at a given signal-to-noise ratio,
and a low-pass filter (the FAD paper, Kilgour et al. 2019, scored such
distortions the same way).
"""

import numpy as np
import scipy.signal

from common.errors import ParameterError


def add_white_noise(audio, snr_db=20.0, seed=0):
    """``audio`` plus Gaussian white noise at ``snr_db`` below the clip's RMS.

    Args:
        audio: float mono ``(n_samples,)``.
        snr_db: signal-to-noise ratio in dB (20 = noise 20 dB under the signal).
        seed: seeds the noise.
    Returns:
        float32 ``(n_samples,)``; a silent clip stays silent.
    """
    audio = np.asarray(audio, dtype=np.float64)
    rms = np.sqrt(np.mean(audio**2))
    noise = np.random.default_rng(seed).standard_normal(audio.shape) * rms * 10 ** (-snr_db / 20)
    return (audio + noise).astype(np.float32)


def low_pass(audio, sample_rate, cutoff_hz=4000.0, order=8):
    """Zero-phase Butterworth low-pass (``scipy.signal.butter`` + ``sosfiltfilt``).

    Args:
        audio: float mono ``(n_samples,)``, n_samples > 3 * (2 * order + 1).
        sample_rate: Hz.
        cutoff_hz: -3 dB frequency in Hz, 0 < cutoff_hz < sample_rate / 2.
        order: filter order (applied twice, forward and backward).
    Returns:
        float32 ``(n_samples,)``.
    Raises:
        ParameterError: if the cutoff is not below Nyquist.
    """
    if not 0 < cutoff_hz < sample_rate / 2:
        raise ParameterError(f"cutoff_hz must be in (0, {sample_rate / 2}). Received: cutoff_hz={cutoff_hz}")
    sos = scipy.signal.butter(order, cutoff_hz, btype="low", fs=sample_rate, output="sos")
    return scipy.signal.sosfiltfilt(sos, np.asarray(audio, dtype=np.float64)).astype(np.float32)
