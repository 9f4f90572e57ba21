"""The training curves of a run folder as a PNG (``history.png`` beside ``history.csv``)."""

import csv
import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from common.atomic import atomic_write_bytes  # noqa: E402


def _number(text):
    # CSVLogger writes "NA" for a metric an epoch did not report
    try:
        return float(text)
    except ValueError:
        return float("nan")


def plot_history(history_csv, path=None):
    """Plot every metric column of a Keras ``CSVLogger`` file against the epoch.

    Training and validation curves of one metric share an axis (``loss`` with
    ``val_loss``); the y axis is logarithmic since losses fall by decades.

    Args:
        history_csv: the CSV file (columns ``epoch`` and metric names).
        path: the PNG to write (atomically); default ``history.png`` beside the CSV.
    Returns:
        The PNG's path, or None if the CSV holds no rows.
    """
    history_csv = Path(history_csv)
    with history_csv.open(newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return None
    epochs = [int(row["epoch"]) + 1 for row in rows]
    metrics = [name for name in rows[0] if name != "epoch" and not name.startswith("val_")]
    figure, axes = plt.subplots(1, len(metrics), figsize=(4.5 * len(metrics), 3.2), squeeze=False)
    for axis, name in zip(axes[0], metrics):
        for column, style in ((name, "-"), (f"val_{name}", "--")):
            if column in rows[0]:
                axis.plot(epochs, [_number(row[column]) for row in rows], style, label=column)
        axis.set_yscale("log")
        axis.set_xlabel("epoch")
        axis.set_title(name, fontsize=10)
        axis.legend(fontsize=8)
        axis.grid(alpha=0.3)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80)
    plt.close(figure)
    path = Path(path) if path is not None else history_csv.with_suffix(".png")
    atomic_write_bytes(path, buffer.getvalue())
    return path
