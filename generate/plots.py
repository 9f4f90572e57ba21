"""Figures comparing generated spectrograms with the originals."""

import io

import matplotlib

matplotlib.use("Agg")
import librosa  # noqa: E402
import librosa.display  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from common.atomic import atomic_write_bytes  # noqa: E402


def _display(transform, values):
    """``(values to show, specshow keyword arguments)`` for a clip of ``transform``'s representation."""
    kwargs = {"sr": transform.sample_rate, "hop_length": transform.hop_length, "x_axis": "time"}
    name = type(transform).__name__
    if name == "MelSpectrogramExtractor":
        kwargs.update(y_axis="mel", fmin=transform.fmin, fmax=transform.fmax, htk=transform.htk)
    elif name == "MdctTransform":
        values = np.abs(values)  # signed coefficients: show their (companded) magnitude
        kwargs.update(y_axis="linear")
    elif name == "PianoRollTransform":
        kwargs.update(y_axis="cqt_note", fmin=librosa.midi_to_hz(transform.min_pitch), bins_per_octave=12)
    else:  # log-STFT bins
        kwargs.update(y_axis="log")
    return values, kwargs


def plot_comparison(generated, originals, transform, path, title=""):
    """Save a PNG: generated clips on the top row, originals below, on the representation's own axes.

    Args:
        generated: list of float arrays ``(n_freq_bins, n_frames)`` in the transform's
            stored scale (dB for log_stft and mel, companded coefficients for mdct,
            note values for piano_roll).
        originals: list of float arrays of the same shape (may be empty).
        transform: the transform the clips come from (for the axes: Hz, mel, notes).
        path: the PNG to write (atomically).
        title: figure title.
    Returns:
        ``path``.
    """
    generated = [_display(transform, s)[0] for s in generated]
    originals = [_display(transform, s)[0] for s in originals]
    kwargs = _display(transform, generated[0])[1]
    columns = max(len(generated), len(originals), 1)
    rows = 2 if originals else 1
    figure, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 2.8 * rows), squeeze=False)
    vmin = min(float(s.min()) for s in list(generated) + list(originals))
    vmax = max(float(s.max()) for s in list(generated) + list(originals))
    for row, (label, spectrograms) in enumerate((("generated", generated), ("original", originals))[:rows]):
        for column in range(columns):
            axis = axes[row][column]
            if column >= len(spectrograms):
                axis.axis("off")
                continue
            librosa.display.specshow(spectrograms[column], ax=axis, vmin=vmin, vmax=vmax, cmap="magma", **kwargs)
            axis.set_title(f"{label} {column}", fontsize=9)
            axis.label_outer()
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80)
    plt.close(figure)
    atomic_write_bytes(path, buffer.getvalue())
    return path
