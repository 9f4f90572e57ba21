"""Kernel Inception Distance (KID): unbiased squared MMD with a cubic polynomial kernel.

Source: M. Bińkowski, D. J. Sutherland, M. Arbel and A. Gretton, "Demystifying
MMD GANs", ICLR 2018 (section 4, KID): kernel k(x, y) = (x.y / dim + 1)^3 and
the unbiased estimator of Gretton et al., "A kernel two-sample test", JMLR 13
(2012), Lemma 6:

    MMD_u^2 = 1/(m(m-1)) sum_{i != j} k(x_i, x_j) + 1/(m(m-1)) sum_{i != j} k(y_i, y_j)
              - 2/m^2 sum_{i, j} k(x_i, y_j),

averaged over random subsets of m samples from each set. Unlike FAD it is
unbiased, so it is usable with few samples; it can be slightly negative.
"""

import numpy as np

from common.errors import ParameterError
from evaluation.frechet import check_embeddings


def polynomial_kernel(x, y):
    """``(x @ y.T / dim + 1) ** 3`` for ``(n, dim)`` and ``(m, dim)`` arrays; returns ``(n, m)``."""
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def unbiased_mmd2(x, y):
    """Unbiased MMD^2 (module docstring) between two equal-size ``(m, dim)`` sets, m >= 2."""
    m = x.shape[0]
    k_xx, k_yy, k_xy = polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y)
    within = (k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
    return float(within - 2.0 * k_xy.mean())


def kernel_inception_distance(reference, candidate, subset_size=1000, n_subsets=100, seed=0):
    """KID between two sets of embeddings, mean and standard deviation over subsets.

    Args:
        reference, candidate: ``(n, dim)`` embeddings, n >= 2 each.
        subset_size: samples per subset (capped at the smaller set's size).
        n_subsets: random subsets (drawn without replacement within a subset).
        seed: seeds the subset draws.
    Returns:
        dict: ``kid`` (mean, squared embedding units / dim-scaled kernel), ``kid_std``,
        ``subset_size``, ``n_subsets``, ``n_reference``, ``n_candidate``.
    Raises:
        ParameterError: for non-finite values, fewer than 2 rows, different widths, or
            subset_size / n_subsets < 1.
    """
    reference = check_embeddings(reference, "reference embeddings")
    candidate = check_embeddings(candidate, "candidate embeddings")
    if candidate.shape[1] != reference.shape[1]:
        raise ParameterError(
            f"Embeddings differ in width. Received: reference_dim={reference.shape[1]}, "
            f"candidate_dim={candidate.shape[1]}"
        )
    if int(subset_size) < 2 or int(n_subsets) < 1:
        raise ParameterError(f"KID needs subset_size >= 2, n_subsets >= 1. Received: subset_size={subset_size}, n_subsets={n_subsets}")
    m = min(int(subset_size), reference.shape[0], candidate.shape[0])
    rng = np.random.default_rng(seed)
    values = [
        unbiased_mmd2(reference[rng.choice(reference.shape[0], m, replace=False)],
                      candidate[rng.choice(candidate.shape[0], m, replace=False)])
        for _ in range(int(n_subsets))
    ]
    return {"kid": float(np.mean(values)), "kid_std": float(np.std(values)), "subset_size": m,
            "n_subsets": int(n_subsets), "n_reference": reference.shape[0], "n_candidate": candidate.shape[0]}
