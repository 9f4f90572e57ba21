"""Scoring sets of audio clips against a reference set: FAD and KID on musicnn embeddings."""

import dataclasses
import time
import warnings


from common.errors import ParameterError
from evaluation.frechet import frechet_audio_distance
from evaluation.kid import kernel_inception_distance


@dataclasses.dataclass
class AudioSet:
    """Clips to score, and what they are.

    Attributes:
        name: the row label, e.g. "real, other half (floor)".
        clips: list of float mono arrays ``(n_samples,)`` at ``sample_rate``.
        sample_rate: Hz.
        role: "reference", "floor", "ceiling" or "model".
        extra: more columns for the row (e.g. paired spectrogram SSIM/MSE, timings).
    """

    name: str
    clips: list
    sample_rate: int
    role: str = "model"
    extra: dict = dataclasses.field(default_factory=dict)


def score_sets(reference, candidates, embedder, kid_subset_size=100, kid_subsets=100, seed=0, embeddings_out=None):
    """FAD and KID of every candidate set against ``reference``.

    Args:
        reference: an `AudioSet` (the real clips scores are relative to).
        candidates: list of `AudioSet`, each at the reference's sample rate.
        embedder: has ``embed(clips, sample_rate) -> (n, dim)`` (`evaluation.embeddings.MusicnnEmbedder`).
        kid_subset_size, kid_subsets, seed: see `evaluation.kid.kernel_inception_distance`.
        embeddings_out: None, or a dict that receives each set's embeddings by name
            (``reference.name`` and every candidate's), float32 ``(n, dim)``, for further
            scores on the same embeddings (e.g. `evaluation.memorisation`).
    Returns:
        list of dicts, one per candidate: ``name``, ``role``, ``fad`` (None when a set has
        no more embeddings than dimensions), ``kid``, ``kid_std``, ``n_reference``,
        ``n_candidate``, ``embed_seconds``, plus the candidate's ``extra``.
    Raises:
        ParameterError: if a candidate's sample rate differs from the reference's (both are
            named), a set is empty or too short to embed, or an embedding is non-finite.
    """
    for candidate in candidates:
        if candidate.sample_rate != reference.sample_rate:
            raise ParameterError(
                f"Set {candidate.name!r} is at another sample rate than the reference; resample one. "
                f"Received: sample_rate={candidate.sample_rate}, reference_sample_rate={reference.sample_rate}"
            )
    reference_embeddings = embedder.embed(reference.clips, reference.sample_rate)
    if embeddings_out is not None:
        embeddings_out[reference.name] = reference_embeddings
    rows = []
    for candidate in candidates:
        start = time.monotonic()
        embeddings = embedder.embed(candidate.clips, candidate.sample_rate)
        embed_s = time.monotonic() - start
        if embeddings_out is not None:
            embeddings_out[candidate.name] = embeddings
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fad = frechet_audio_distance(reference_embeddings, embeddings)
        for warning in caught:
            print(f"warning: {candidate.name}: {warning.message}")
        kid = kernel_inception_distance(reference_embeddings, embeddings, kid_subset_size, kid_subsets, seed)
        rows.append({
            "name": candidate.name,
            "role": candidate.role,
            "fad": fad["fad"],
            "fad_regularised": fad["regularised"],
            "kid": kid["kid"],
            "kid_std": kid["kid_std"],
            "kid_subset_size": kid["subset_size"],
            "n_reference": fad["n_reference"],
            "n_candidate": fad["n_candidate"],
            "embed_seconds": round(embed_s, 2),
            **candidate.extra,
        })
    return rows


def format_table(rows, columns=("fad", "kid", "ssim", "mse", "rms_db", "spectral_flatness", "onsets_per_s")):
    """The rows of `score_sets` as a fixed-width text table (missing values as '-')."""
    name_width = max(len(row["name"]) for row in rows) + 2
    header = f"{'set':<{name_width}}{'n':>6}" + "".join(f"{column:>19}" for column in columns)
    lines = [header, "-" * len(header)]
    for row in rows:
        cells = []
        for column in columns:
            value = row.get(column)
            if value is None:
                cells.append(f"{'-':>19}")
            elif column == "kid":
                cells.append(f"{value:>10.4f} ±{row['kid_std']:.4f}".rjust(19))
            else:
                cells.append(f"{value:>19.4f}")
        lines.append(f"{row['name']:<{name_width}}{row['n_candidate']:>6}" + "".join(cells))
    return "\n".join(lines)
