"""Paired spectrogram metrics: mean squared error and SSIM.

SSIM: Z. Wang, A. C. Bovik, H. R. Sheikh and E. P. Simoncelli, "Image quality
assessment: from error visibility to structural similarity", IEEE TIP 13(4),
2004, eq. 13, computed by ``tf.image.ssim`` (11x11 Gaussian window, sigma 1.5,
k1 0.01, k2 0.03). Both metrics compare spectrograms on the normalised scale
(min-max to [0, 1] with the dataset's statistics), so ``max_val`` is 1.
"""

import numpy as np

from common.errors import ParameterError


def _paired(predictions, targets):
    predictions = np.asarray(predictions, dtype=np.float32)
    targets = np.asarray(targets, dtype=np.float32)
    if predictions.shape != targets.shape or predictions.ndim not in (3, 4):
        raise ParameterError(
            "Spectrogram sets must have one shape, (batch, n_freq_bins, n_frames[, 1]). "
            f"Received: shapes={predictions.shape} and {targets.shape}"
        )
    for name, array in (("predictions", predictions), ("targets", targets)):
        if not np.all(np.isfinite(array)):
            raise ParameterError(f"{name} hold non-finite values. Received: non_finite={int(np.sum(~np.isfinite(array)))}")
    if predictions.ndim == 3:
        predictions, targets = predictions[..., None], targets[..., None]
    return predictions, targets


def spectrogram_mse(predictions, targets):
    """Mean squared error per pair.

    Args:
        predictions, targets: ``(batch, n_freq_bins, n_frames[, 1])`` normalised spectrograms.
    Returns:
        float64 ``(batch,)``, >= 0, in squared normalised units.
    Raises:
        ParameterError: for mismatched shapes or non-finite values.
    """
    predictions, targets = _paired(predictions, targets)
    return np.mean((predictions.astype(np.float64) - targets) ** 2, axis=(1, 2, 3))


def spectrogram_ssim(predictions, targets, max_val=1.0):
    """SSIM per pair (module docstring); each side must be at least 11 x 11.

    Returns:
        float64 ``(batch,)`` in [-1, 1]; 1 means identical.
    Raises:
        ParameterError: for mismatched shapes, non-finite values, or a side below 11.
    """
    import tensorflow as tf

    predictions, targets = _paired(predictions, targets)
    if min(predictions.shape[1:3]) < 11:
        raise ParameterError(f"SSIM needs spectrograms of at least 11 x 11. Received: shape={predictions.shape[1:3]}")
    return tf.image.ssim(predictions, targets, max_val=max_val).numpy().astype(np.float64)


def paired_spectrogram_metrics(predictions, targets):
    """Mean SSIM and MSE of normalised spectrograms against their pairs, rounded for a report.

    Args:
        predictions, targets: ``(batch, n_freq_bins, n_frames[, 1])`` normalised spectrograms.
    Returns:
        ``{"ssim": float (4 decimals), "mse": float (5 decimals)}``.
    Raises:
        ParameterError: as `spectrogram_ssim` and `spectrogram_mse`.
    """
    return {
        "ssim": round(float(np.mean(spectrogram_ssim(predictions, targets))), 4),
        "mse": round(float(np.mean(spectrogram_mse(predictions, targets))), 5),
    }
