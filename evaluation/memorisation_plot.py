"""The memorisation check's figure: nearest-training-clip distance distributions, one outline per set."""

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from common.atomic import atomic_write_bytes  # noqa: E402
from common.errors import ParameterError  # noqa: E402


def plot_memorisation(distances, path):
    """Save a PNG of nearest-training-clip distance distributions, one histogram outline per set.

    Args:
        distances: dict, set name -> list of floats (embedding units, >= 0); the first is
            drawn filled (the held-out clips every other set is compared with).
        path: the PNG to write (atomically).
    Returns:
        ``path``.
    Raises:
        ParameterError: if ``distances`` is empty or a set has no value.
    """
    if not distances or any(len(values) == 0 for values in distances.values()):
        raise ParameterError(f"Every set needs distances. Received: sets={ {k: len(v) for k, v in distances.items()} }")
    every = np.concatenate([np.asarray(v, dtype=float) for v in distances.values()])
    bins = np.linspace(0.0, float(every.max()) * 1.02 + 1e-9, 40)
    figure, axis = plt.subplots(figsize=(7.5, 3.6))
    for index, (name, values) in enumerate(distances.items()):
        median = float(np.median(values))
        if index == 0:
            axis.hist(values, bins=bins, density=True, alpha=0.35, color="grey", label=f"{name} (median {median:.2f})")
        else:
            axis.hist(values, bins=bins, density=True, histtype="step", linewidth=1.6, label=f"{name} (median {median:.2f})")
    axis.set_xlabel("distance to the nearest training clip (musicnn embedding)")
    axis.set_ylabel("density")
    axis.set_title("Memorisation check: generated clips should be no closer than held-out ones", fontsize=10)
    axis.legend(fontsize=7)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90)
    plt.close(figure)
    atomic_write_bytes(path, buffer.getvalue())
    return path
