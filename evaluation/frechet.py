"""Fréchet distance between Gaussians fitted to embeddings: the Fréchet Audio Distance (FAD).

Source: D. C. Dowson and B. V. Landau, "The Fréchet distance between
multivariate normal distributions", J. Multivariate Analysis 12 (1982), for

    d^2 = ||mu_1 - mu_2||^2 + Tr(Sigma_1 + Sigma_2 - 2 (Sigma_1 Sigma_2)^{1/2});

used on Inception features as FID (Heusel et al., NeurIPS 2017, eq. 6) and on
audio embeddings as FAD (Kilgour et al., "Fréchet Audio Distance: a metric for
evaluating music enhancement algorithms", Interspeech 2019).
"""

import warnings

import numpy as np
import scipy.linalg

from common.errors import ParameterError


def check_embeddings(embeddings, name="embeddings"):
    """``embeddings`` as a float64 ``(n, dim)`` array.

    Raises:
        ParameterError: if it is not 2-D, has fewer than 2 rows, or holds non-finite values
            (the message counts them).
    """
    embeddings = np.asarray(embeddings, dtype=np.float64)
    if embeddings.ndim != 2 or embeddings.shape[0] < 2:
        raise ParameterError(f"{name} must be (n >= 2, dim). Received: {name}.shape={embeddings.shape}")
    bad = int(np.sum(~np.isfinite(embeddings)))
    if bad:
        raise ParameterError(f"{name} hold non-finite values. Received: non_finite={bad}")
    return embeddings


def gaussian_statistics(embeddings):
    """Mean ``(dim,)`` and unbiased covariance ``(dim, dim)`` (float64) of ``(n, dim)`` embeddings."""
    embeddings = check_embeddings(embeddings)
    return embeddings.mean(axis=0), np.cov(embeddings, rowvar=False)


def frechet_distance(mu_1, sigma_1, mu_2, sigma_2, eps=1e-6):
    """Fréchet distance between N(mu_1, sigma_1) and N(mu_2, sigma_2) (module docstring formula).

    The matrix square root is ``scipy.linalg.sqrtm``; when the product is
    singular (scipy warns, or the result is not finite) both covariances get
    ``eps`` added on the diagonal first, as pytorch-fid does.

    Args:
        mu_1, mu_2: means ``(dim,)``.
        sigma_1, sigma_2: covariances ``(dim, dim)``, symmetric positive semi-definite.
        eps: diagonal offset used only when the square root fails.
    Returns:
        ``(distance, regularised)``: a float >= 0 (up to rounding) in squared embedding
        units, and whether ``eps`` was needed.
    Raises:
        ParameterError: for mismatched shapes.
    """
    mu_1, mu_2 = np.atleast_1d(mu_1), np.atleast_1d(mu_2)
    sigma_1, sigma_2 = np.atleast_2d(sigma_1), np.atleast_2d(sigma_2)
    dim = mu_1.shape[0]
    if mu_2.shape != (dim,) or sigma_1.shape != (dim, dim) or sigma_2.shape != (dim, dim):
        raise ParameterError(
            "Means and covariances must be (dim,) and (dim, dim) for one dim. "
            f"Received: shapes={[mu_1.shape, sigma_1.shape, mu_2.shape, sigma_2.shape]}"
        )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", scipy.linalg.LinAlgWarning)
        covariance_mean = scipy.linalg.sqrtm(sigma_1 @ sigma_2)
    singular = any(issubclass(w.category, scipy.linalg.LinAlgWarning) for w in caught)
    regularised = singular or not np.all(np.isfinite(covariance_mean))
    if regularised:
        offset = np.eye(dim) * eps
        covariance_mean = scipy.linalg.sqrtm((sigma_1 + offset) @ (sigma_2 + offset))
    if np.iscomplexobj(covariance_mean):
        # round-off can leave a tiny imaginary part; a large one means the inputs are not covariances
        if not np.allclose(np.diagonal(covariance_mean).imag, 0, atol=1e-3):
            raise ParameterError(
                "The covariance square root has a large imaginary part; are these covariances? "
                f"Received: max_imag={float(np.max(np.abs(covariance_mean.imag)))}"
            )
        covariance_mean = covariance_mean.real
    diff = mu_1 - mu_2
    distance = float(diff @ diff + np.trace(sigma_1) + np.trace(sigma_2) - 2 * np.trace(covariance_mean))
    return distance, regularised


def frechet_audio_distance(reference, candidate):
    """FAD between two sets of embeddings, with the sample counts it rests on.

    A covariance of ``dim`` dimensions needs more than ``dim`` samples to be
    full rank; with fewer, the Gaussian fit is degenerate and FAD is not
    reported (a warning says so; use `evaluation.kid.kernel_inception_distance`).

    Args:
        reference, candidate: ``(n, dim)`` embeddings (e.g. musicnn penultimate, dim 200).
    Returns:
        dict: ``fad`` (float, or None when too few samples), ``n_reference``,
        ``n_candidate``, ``dim``, ``regularised`` (bool or None).
    Raises:
        ParameterError: for non-finite values, fewer than 2 rows, or different dims.
    """
    reference = check_embeddings(reference, "reference embeddings")
    candidate = check_embeddings(candidate, "candidate embeddings")
    dim = reference.shape[1]
    if candidate.shape[1] != dim:
        raise ParameterError(
            f"Embeddings differ in width. Received: reference_dim={dim}, candidate_dim={candidate.shape[1]}"
        )
    result = {"fad": None, "n_reference": reference.shape[0], "n_candidate": candidate.shape[0], "dim": dim,
              "regularised": None}
    if min(reference.shape[0], candidate.shape[0]) <= dim:
        warnings.warn(
            f"FAD needs more than {dim} embeddings per set for a full-rank covariance; not reported, use KID. "
            f"Received: n_reference={reference.shape[0]}, n_candidate={candidate.shape[0]}",
            stacklevel=2,
        )
        return result
    result["fad"], result["regularised"] = frechet_distance(*gaussian_statistics(reference), *gaussian_statistics(candidate))
    return result
