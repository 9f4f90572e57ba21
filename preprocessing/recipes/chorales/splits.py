"""Train / validation / test splits of the chorales by a seeded hash of each piece's id."""

import hashlib
import math

from common.errors import ParameterError
from common.validation import integer

SPLITS = ("train", "validation", "test")
DEFAULT_FRACTIONS = (0.8, 0.1, 0.1)


def check_fractions(fractions) -> tuple:
    """Return ``fractions`` as a tuple of 3 floats.

    Args:
        fractions: 3 numbers >= 0 (train, validation, test) summing to 1 (within 1e-6).
    Returns:
        tuple of 3 floats.
    Raises:
        ParameterError: otherwise, ending in ``Received: fractions=<value>``.
    """
    try:
        values = tuple(float(f) for f in fractions)
    except (TypeError, ValueError):
        values = ()
    if (
        len(values) != len(SPLITS)
        or not all(math.isfinite(f) and f >= 0 for f in values)
        or abs(sum(values) - 1.0) > 1e-6
    ):
        raise ParameterError(
            "fractions must be 3 numbers >= 0 (train, validation, test) that sum to 1. "
            f"Received: fractions={fractions!r}"
        )
    return values


def assign_split(piece, seed=0, fractions=DEFAULT_FRACTIONS) -> str:
    """Assign a piece to a split by a seeded hash of its id.

    The SHA-1 digest of ``f"{seed}:{piece}"`` gives a number ``u`` uniform in
    [0, 1); the piece goes to the first split whose cumulative fraction exceeds
    ``u``. Unlike Python's ``hash()`` this is the same in every process and
    run, and a piece's split does not depend on which other pieces exist.

    Args:
        piece: non-empty str, the piece id (e.g. ``"bwv26.6"``).
        seed: int, changes the assignment as a whole.
        fractions: 3 numbers >= 0 summing to 1: train, validation, test.
    Returns:
        ``"train"``, ``"validation"`` or ``"test"``.
    Raises:
        ParameterError: if ``piece`` is not a non-empty str, ``seed`` is not an
            int, or ``fractions`` is invalid.
    """
    if not isinstance(piece, str) or not piece:
        raise ParameterError(f"piece must be a non-empty string. Received: piece={piece!r}")
    seed = integer("seed", seed)
    fractions = check_fractions(fractions)
    digest = hashlib.sha1(f"{seed}:{piece}".encode("utf-8")).digest()
    u = int.from_bytes(digest[:8], "big") / 2.0**64  # uniform in [0, 1)
    cumulative = 0.0
    for split, fraction in zip(SPLITS, fractions):
        cumulative += fraction
        if u < cumulative:
            return split
    # Rounding left u just above the total: use the last split that takes pieces.
    return [split for split, fraction in zip(SPLITS, fractions) if fraction > 0][-1]
