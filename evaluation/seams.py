"""Seams in audio: is a join heard? Spectral flux across joins against flux elsewhere.

Long pieces, loops and Griffin-Lim blocks (`generate.long_form`) are made of parts
joined at known sample positions. A join that is heard is a sudden change of the
spectrum, which the spectral flux measures; `seam_ratio` compares the flux across
the joins with the flux within the parts (1: no seam).
"""

import math

import numpy as np


def spectral_flux(audio, sample_rate):
    """Frame-to-frame spectral flux of ``audio``: the RMS over bins of the change in dB.

    ``flux[t] = sqrt(mean_k (L[k, t + 1] - L[k, t])**2)``, ``L = 20 log10(max(|STFT|, 1e-4))``
    (the L2 spectral flux of Dixon, "Onset Detection Revisited", DAFx 2006, eq. 4, on dB
    magnitudes) with a Hann window of ``n_fft = 2**round(log2(0.064 sr))`` and hop ``n_fft // 4``.

    Returns:
        ``(flux, hop)``: float64 ``(n_frames - 1,)`` in dB, and the hop in samples (flux[t]
        is the change across sample ``(t + 1) * hop``).
    """
    import librosa

    n_fft = 2 ** int(round(math.log2(0.064 * sample_rate)))
    hop = n_fft // 4
    levels = 20 * np.log10(np.maximum(np.abs(librosa.stft(np.asarray(audio, np.float32), n_fft=n_fft, hop_length=hop)), 1e-4))
    return np.sqrt(np.mean(np.diff(levels, axis=1) ** 2, axis=0)), hop


def seam_ratio(audio, sample_rate, joins):
    """Spectral flux across the joins over the flux elsewhere, with the same statistic (1: no seam).

    The statistic at a position is the largest `spectral_flux` within one analysis hop of it
    (a join falls between analysis frames); it is averaged over the joins, and over every
    analysis frame more than two hops from any join ("within" the windows).

    Args:
        audio: float array ``(n,)``.
        sample_rate: Hz.
        joins: sample positions of the joins.
    Returns:
        ``{"join_flux_db", "within_flux_db", "ratio"}`` (NaN where there is nothing to average).
    """
    flux, hop = spectral_flux(audio, sample_rate)
    local = np.max(np.stack([np.roll(flux, 1), flux, np.roll(flux, -1)]), axis=0)  # max over +-1 frame
    local[0], local[-1] = max(flux[:2]), max(flux[-2:])
    centres = (np.arange(len(flux)) + 1) * hop
    near = np.zeros(len(flux), bool)
    at_joins = []
    for j in joins:
        nearest = int(np.argmin(np.abs(centres - j)))
        if abs(centres[nearest] - j) <= hop:
            at_joins.append(float(local[nearest]))
        near |= np.abs(centres - j) <= 2 * hop
    within = float(np.mean(local[~near])) if (~near).any() else float("nan")
    join = float(np.mean(at_joins)) if at_joins else float("nan")
    return {"join_flux_db": join, "within_flux_db": within, "ratio": join / within if within > 0 else float("nan")}
