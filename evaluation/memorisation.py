"""Does a generator copy its training clips? Nearest-neighbour distances in an embedding space.

A model that memorised its training set makes clips that sit closer to some
training clip than new music of the same kind does. So each generated clip's
distance to its nearest training clip is compared with the same distance for
held-out real clips (never trained on), in the embedding FAD uses (musicnn):

    d(x) = min over training clips t of || e(x) - e(t) ||_2        (Euclidean, embedding units)

If the generated distances are not smaller than the held-out ones, the model
is no closer to its training data than unseen music is. This is the
"nearest-neighbour in feature space" check of the generative-model literature
(e.g. the train-set nearest neighbours of Brock et al., "Large Scale GAN
Training", ICLR 2019, Appendix; Carlini et al., "Extracting Training Data from
Diffusion Models", USENIX Security 2023, use a distance threshold on the
nearest training example to call a sample a copy). Here the threshold is taken
from the held-out clips themselves: a generated clip closer to the training set
than 95% of held-out clips (`COPY_QUANTILE`) counts as a near-copy, so about 5%
of clips are expected by chance even without copying.

The two distance distributions are compared with a one-sided Mann-Whitney U
test (scipy.stats.mannwhitneyu, alternative "less": generated distances
stochastically smaller than held-out ones); a small p-value is evidence of
copying, or at least of samples crowding around training clips.
"""

import numpy as np
from scipy import stats
from sklearn.neighbors import NearestNeighbors

from common.errors import ParameterError

# a generated clip nearer to the training set than this quantile of the held-out clips' distances is a near-copy
COPY_QUANTILE = 0.05


def _embeddings(name, values):
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 2 or values.shape[0] < 1 or not np.all(np.isfinite(values)):
        raise ParameterError(
            f"{name} must be a finite 2-D array (clips, dims) with at least one row. Received: {name}.shape={values.shape}"
        )
    return values


def nearest_train_distances(train_embeddings, embeddings):
    """Each row's Euclidean distance to its nearest training embedding.

    Args:
        train_embeddings: float ``(n_train, dims)``, n_train >= 1.
        embeddings: float ``(n, dims)``, the clips to measure.
    Returns:
        float64 ``(n,)``, >= 0, in embedding units.
    Raises:
        ParameterError: for non-finite or non-2-D input, or differing ``dims``.
    """
    train_embeddings = _embeddings("train_embeddings", train_embeddings)
    embeddings = _embeddings("embeddings", embeddings)
    if train_embeddings.shape[1] != embeddings.shape[1]:
        raise ParameterError(
            f"Embeddings must have the training set's dims ({train_embeddings.shape[1]}). "
            f"Received: embeddings.shape={embeddings.shape}"
        )
    distances, _ = NearestNeighbors(n_neighbors=1).fit(train_embeddings).kneighbors(embeddings)
    return distances[:, 0]


def _summary(distances):
    quantiles = np.quantile(distances, [0.01, 0.05, 0.25, 0.5, 0.75, 0.95])
    return {f"p{int(round(q * 100)):02d}": float(v) for q, v in zip([0.01, 0.05, 0.25, 0.5, 0.75, 0.95], quantiles)}


def memorisation_report(train_embeddings, heldout_embeddings, generated_embeddings):
    """Generated clips' nearest-training-clip distances against held-out real clips'.

    Args:
        train_embeddings: float ``(n_train, dims)``: the training clips (e.g. musicnn, 200-d).
        heldout_embeddings: float ``(n_heldout, dims)``: real clips not trained on, n_heldout >= 20.
        generated_embeddings: float ``(n_generated, dims)``: the model's clips, n_generated >= 1.
    Returns:
        dict: ``heldout`` and ``generated``: quantiles p01..p95 of their distances (embedding
        units); ``median_ratio``: generated median over held-out median (< 1: closer to the
        training set than unseen music); ``copy_threshold``: the held-out distances'
        `COPY_QUANTILE` quantile; ``near_copies``: the number of generated clips below it and
        ``near_copy_share`` their share (about `COPY_QUANTILE` expected by chance);
        ``mannwhitney_p``: the one-sided p-value that generated distances are smaller;
        ``n_train``, ``n_heldout``, ``n_generated``; and the raw ``distances`` of both sets
        (lists of floats, for plots).
    Raises:
        ParameterError: for bad arrays, or fewer than 20 held-out clips (the threshold needs them).
    """
    heldout_embeddings = _embeddings("heldout_embeddings", heldout_embeddings)
    if heldout_embeddings.shape[0] < 20:
        raise ParameterError(
            f"Need at least 20 held-out clips for the copy threshold. Received: n_heldout={heldout_embeddings.shape[0]}"
        )
    heldout = nearest_train_distances(train_embeddings, heldout_embeddings)
    generated = nearest_train_distances(train_embeddings, generated_embeddings)
    threshold = float(np.quantile(heldout, COPY_QUANTILE))
    near_copies = int(np.sum(generated < threshold))
    return {
        "n_train": int(np.asarray(train_embeddings).shape[0]),
        "n_heldout": int(heldout.shape[0]),
        "n_generated": int(generated.shape[0]),
        "heldout": _summary(heldout),
        "generated": _summary(generated),
        "median_ratio": float(np.median(generated) / max(np.median(heldout), 1e-12)),
        "copy_threshold": threshold,
        "near_copies": near_copies,
        "near_copy_share": near_copies / generated.shape[0],
        "mannwhitney_p": float(stats.mannwhitneyu(generated, heldout, alternative="less").pvalue),
        "distances": {"heldout": heldout.tolist(), "generated": generated.tolist()},
    }
