"""Figures comparing generated spectrograms with the originals."""

import io

import matplotlib

matplotlib.use("Agg")
import librosa.display  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402

from common.atomic import atomic_write_bytes  # noqa: E402


def plot_comparison(generated_db, originals_db, sample_rate, hop_length, path, title=""):
    """Save a PNG: generated log spectrograms on the top row, originals below.

    Args:
        generated_db: list of float arrays ``(n_freq_bins, n_frames)``, in dB.
        originals_db: list of float arrays of the same shape, in dB (may be empty).
        sample_rate: Hz, for the axes.
        hop_length: samples between frames, for the time axis.
        path: the PNG to write (atomically).
        title: figure title.
    Returns:
        ``path``.
    """
    columns = max(len(generated_db), len(originals_db), 1)
    rows = 2 if originals_db else 1
    figure, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 2.8 * rows), squeeze=False)
    vmin = min(float(s.min()) for s in list(generated_db) + list(originals_db))
    vmax = max(float(s.max()) for s in list(generated_db) + list(originals_db))
    for row, (label, spectrograms) in enumerate((("generated", generated_db), ("original", originals_db))[:rows]):
        for column in range(columns):
            axis = axes[row][column]
            if column >= len(spectrograms):
                axis.axis("off")
                continue
            librosa.display.specshow(
                spectrograms[column], sr=sample_rate, hop_length=hop_length, x_axis="time", y_axis="log",
                ax=axis, vmin=vmin, vmax=vmax, cmap="magma",
            )
            axis.set_title(f"{label} {column}", fontsize=9)
            axis.label_outer()
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80)
    plt.close(figure)
    atomic_write_bytes(path, buffer.getvalue())
    return path
