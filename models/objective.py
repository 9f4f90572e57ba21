"""The training objective of the diffusion task: prediction targets, their estimates, loss weights and auxiliary losses.

Notation (Song et al., "Denoising Diffusion Implicit Models", ICLR 2021):
    images          x_0, clean samples, standardised to zero mean and unit variance
    noises          eps ~ N(0, I)
    signal_rates    s = sqrt(alpha_t)
    noise_rates     n = sqrt(1 - alpha_t), so s**2 + n**2 = 1
    noisy_images    x_t = s * x_0 + n * eps                          (eq. 4 of Ho et al. 2020)
    pred_noises     eps estimate
    pred_images     x_0 estimate
The network's output is one of three targets (``prediction``), and the other two
quantities follow from it and x_t:
    eps   the noise (Ho et al. 2020):   x_0 = (x_t - n * eps) / s                         (eq. 9 of Song et al.)
    x0    the clean sample:             eps = (x_t - s * x_0) / n
    v     the velocity (Salimans and Ho, "Progressive Distillation for Fast Sampling of
          Diffusion Models", ICLR 2022, Sec. 4 and Appendix D): v = s * eps - n * x_0,
          x_0 = s * x_t - n * v,  eps = n * x_t + s * v
"""

from keras import ops

PREDICTIONS = ("eps", "v", "x0")
LOSS_TYPES = ("mae", "mse")
# the time axis of a batch (batch, frequency, frames, channels)
TIME_AXIS = 2


def sample_axes(tensor):
    """Every axis of ``tensor`` but the first (batch) one."""
    return tuple(range(1, len(tensor.shape)))


def estimates(prediction, outputs, noisy_images, noise_rates, signal_rates):
    """``(pred_noises, pred_images)`` from a network output that estimates ``prediction``.

    With s**2 + n**2 = 1 (module docstring):
        eps   pred_images = (x_t - n * eps) / s               (Song et al. 2021, eq. 9)
        x0    pred_noises = (x_t - s * x_0) / n
        v     pred_images = s * x_t - n * v, pred_noises = n * x_t + s * v
              (Salimans and Ho 2022, Sec. 4 and Appendix D)

    Args:
        prediction: ``"eps"``, ``"v"`` or ``"x0"``.
        outputs, noisy_images: float32 ``(batch, *data_shape)``, standardised scale.
        noise_rates, signal_rates: float32 ``(batch, 1, 1, 1)``, in (0, 1).
    Returns:
        Two float32 tensors ``(batch, *data_shape)``.
    """
    if prediction == "eps":
        return outputs, (noisy_images - noise_rates * outputs) / signal_rates
    if prediction == "x0":
        return (noisy_images - signal_rates * outputs) / noise_rates, outputs
    return noise_rates * noisy_images + signal_rates * outputs, signal_rates * noisy_images - noise_rates * outputs


def prediction_targets(prediction, images, noises, noise_rates, signal_rates):
    """The regression target of ``prediction`` for standardised ``images`` and ``noises``.

    ``eps``: noises; ``x0``: images; ``v``: ``s * eps - n * x_0`` (Salimans and Ho 2022, Sec. 4).

    Args:
        prediction: ``"eps"``, ``"v"`` or ``"x0"``.
        images, noises: float32 ``(batch, *data_shape)``, standardised scale.
        noise_rates, signal_rates: float32 ``(batch, 1, 1, 1)``, in (0, 1).
    Returns:
        float32 ``(batch, *data_shape)``.
    """
    if prediction == "eps":
        return noises
    if prediction == "x0":
        return images
    return signal_rates * noises - noise_rates * images


def min_snr_weights(prediction, gamma, noise_rates, signal_rates):
    """Min-SNR-gamma loss weights of Hang et al. 2023 for ``prediction``, shape ``(batch,)``.

    With SNR = s**2 / n**2, the weight that makes each target's loss equal to
    ``min(SNR, gamma) * ||x_0 - x_0_hat||**2`` (Hang et al., "Efficient Diffusion Training
    via Min-SNR Weighting Strategy", ICCV 2023, the weights it derives for each target) is
        eps   min(SNR, gamma) / SNR        = min(1, gamma * n**2 / s**2)
        v     min(SNR, gamma) / (SNR + 1)  = min(s**2, gamma * n**2)      (SNR + 1 = 1 / n**2)
        x0    min(SNR, gamma)
    written in the right-hand forms, which stay finite as s or n approaches 0.
    The same weights multiply an MAE loss (``loss_type: mae``).

    Args:
        prediction: ``"eps"``, ``"v"`` or ``"x0"``.
        gamma: float > 0 (5 in the paper).
        noise_rates, signal_rates: float32 ``(batch, 1, 1, 1)``.
    Returns:
        float32 ``(batch,)``, in (0, max(1, gamma)].
    """
    noise_powers = ops.reshape(ops.square(noise_rates), (-1,))
    signal_powers = ops.reshape(ops.square(signal_rates), (-1,))
    if prediction == "eps":
        return ops.minimum(1.0, gamma * noise_powers / signal_powers)
    if prediction == "v":
        return ops.minimum(signal_powers, gamma * noise_powers)
    return ops.minimum(signal_powers / ops.maximum(noise_powers, 1e-20), gamma)


def regression_loss(loss_type, targets, predictions):
    """Mean absolute (``"mae"``, Keras example) or squared (``"mse"``, Ho et al. 2020, eq. 14) error: a scalar."""
    if loss_type == "mae":
        return ops.mean(ops.abs(targets - predictions))
    return ops.mean(ops.square(targets - predictions))


def per_sample_loss(loss_type, targets, predictions):
    """`regression_loss` of each sample: float ``(batch,)``."""
    errors = ops.abs(targets - predictions) if loss_type == "mae" else ops.square(targets - predictions)
    return ops.mean(errors, axis=sample_axes(errors))


def spectral_norm_loss(real, predicted):
    """Mean absolute difference of the per-sample Frobenius norms of two spectrogram batches.

    ``mean_b | ||predicted_b||_F - ||real_b||_F |``: an auxiliary loss that asks
    the predicted clean spectrogram to carry the real one's total energy. The
    norm grows with the number of bins (about sqrt(H * W) times the RMS value),
    so its weight depends on the spectrogram size. A 1e-12 under the square
    root keeps the gradient finite at an all-zero prediction.

    Args:
        real: float tensor ``(batch, H, W, C)``.
        predicted: float tensor of the same shape.
    Returns:
        Scalar float tensor >= 0.
    """
    axes = sample_axes(real)
    real_norms = ops.sqrt(ops.sum(ops.square(real), axis=axes) + 1e-12)
    predicted_norms = ops.sqrt(ops.sum(ops.square(predicted), axis=axes) + 1e-12)
    return ops.mean(ops.abs(predicted_norms - real_norms))


def time_derivative_loss(real, predicted, axis=TIME_AXIS):
    """MAE between the frame-to-frame differences of two spectrogram batches.

    ``mean |diff_t(predicted) - diff_t(real)|`` with ``diff_t(x)[..., j, :] =
    x[..., j + 1, :] - x[..., j, :]`` along the time (frames) axis: an auxiliary
    loss on onsets and note changes, which an L1/L2 loss on the values alone
    weighs little.

    Args:
        real: float tensor ``(batch, frequency, frames, channels)``, frames >= 2.
        predicted: float tensor of the same shape.
        axis: the time axis (2).
    Returns:
        Scalar float tensor >= 0.
    """
    return ops.mean(ops.abs(ops.diff(predicted, axis=axis) - ops.diff(real, axis=axis)))
