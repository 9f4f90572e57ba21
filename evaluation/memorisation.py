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

import time

import numpy as np
from scipy import stats
from sklearn.neighbors import NearestNeighbors

from common.errors import ParameterError

# a generated clip nearer to the training set than this quantile of the held-out clips' distances is a near-copy
COPY_QUANTILE = 0.05
MIN_HELD_OUT_FOR_MEMORISATION = 20  # the copy threshold is a quantile of the held-out distances


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


def memorisation_rows(data_dir, train_clips, clip_samples, sample_rate, embedder, embeddings, sets, out_dir):
    """The memorisation check of every model set and of half B (`generate.evaluate`), and its plot.

    Args:
        data_dir: the dataset whose train split is compared with.
        train_clips: int >= 1, training clips to embed, spread over the split.
        clip_samples, sample_rate: the clips' length (samples) and rate (Hz).
        embedder: the `MusicnnEmbedder` the sets were scored with.
        embeddings: set name -> embeddings, from `evaluation.compare.score_sets`.
        sets: the scored `AudioSet` list (half B is the one with role "floor").
        out_dir: folder for ``memorisation.png``.
    Returns:
        dict: ``n_train``, ``train_embed_seconds``, ``rows`` (name, role and
        `memorisation_report` without the raw distances, per set other than half B,
        which is their reference), ``table`` (text), ``plot`` (path); or, with fewer
        than `MIN_HELD_OUT_FOR_MEMORISATION` clips in half B, ``skipped`` (why),
        empty ``rows``, ``table`` (the same note) and no ``plot``.
    Raises:
        ParameterError: if the training clips cannot be read (`evaluation.real_clips.dataset_clips`).
    """
    from evaluation.memorisation_plot import plot_memorisation
    from evaluation.real_clips import dataset_clips, spread_rows
    from preprocessing.dataset_folder import DatasetFolder

    held_out = next(audio_set for audio_set in sets if audio_set.role == "floor")
    if len(held_out.clips) < MIN_HELD_OUT_FOR_MEMORISATION:
        note = (f"Memorisation: not checked, half B has {len(held_out.clips)} clips "
                f"(the copy threshold needs at least {MIN_HELD_OUT_FOR_MEMORISATION})")
        return {"skipped": note, "rows": [], "table": note, "plot": None}
    start = time.monotonic()
    train_rows = spread_rows(DatasetFolder(data_dir).split_rows("train"), train_clips)
    train = dataset_clips(data_dir, ["train"], clip_samples, sample_rate, rows=train_rows)
    train_embeddings = embedder.embed(train, sample_rate)
    embed_s = time.monotonic() - start
    results, distances = [], {}
    for audio_set in sets:
        if audio_set.role != "model":
            continue
        report = memorisation_report(train_embeddings, embeddings[held_out.name], embeddings[audio_set.name])
        distances.setdefault(held_out.name, report["distances"]["heldout"])
        distances[audio_set.name] = report.pop("distances")["generated"]
        results.append({"name": audio_set.name, "role": audio_set.role, **report})
    plot = plot_memorisation(distances, out_dir / "memorisation.png") if results else None
    return {"n_train": len(train), "train_embed_seconds": round(embed_s, 2), "rows": results,
            "table": memorisation_table(results, len(train)), "plot": None if plot is None else str(plot)}


def memorisation_table(rows, n_train):
    """The printed table of `memorisation_rows`: one line per set (median distance, ratio, near copies, p)."""
    width = max([52] + [len(row["name"]) for row in rows])  # whole names: draws differ only at their end
    lines = [
        f"Memorisation: distance of each clip to its nearest of {n_train} training clips (musicnn embedding); "
        f"held-out = half B",
        f"{'set':<{width}} {'median':>8} {'held-out':>9} {'ratio':>6} {'near copies':>13} {'p (closer)':>11}",
    ]
    for row in rows:
        lines.append(
            f"{row['name']:<{width}} {row['generated']['p50']:>8.2f} {row['heldout']['p50']:>9.2f} "
            f"{row['median_ratio']:>6.2f} {row['near_copies']:>5d} ({100 * row['near_copy_share']:>4.1f}%) "
            f"{row['mannwhitney_p']:>11.3g}"
        )
    return "\n".join(lines)
