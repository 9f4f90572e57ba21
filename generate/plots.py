"""Figures comparing generated spectrograms with the originals."""

import io
import textwrap

import matplotlib

matplotlib.use("Agg")
import librosa.display  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402

from common.atomic import atomic_write_bytes  # noqa: E402
from common.errors import ParameterError  # noqa: E402


# clip pairs per row of the grid: 60 clips make 10 rows of 6, a figure about 1,300 px wide
MAX_PAIRS_PER_ROW = 6
DPI = 80


def grid_shape(num_clips, max_pairs_per_row=MAX_PAIRS_PER_ROW):
    """``(rows of pairs, pairs per row)`` of the comparison grid for ``num_clips`` >= 1 clips.

    At most ``max_pairs_per_row`` pairs per row, and the rows as evenly filled as that allows
    (7 clips: 2 rows of 4, not 6 + 1).
    """
    rows = -(-num_clips // max_pairs_per_row)
    return rows, -(-num_clips // rows)


def plot_comparison(generated, originals, transform, path, title=""):
    """Save a PNG grid: each generated clip directly above its original, on the representation's own axes.

    Clip ``i`` is in row ``i // pairs_per_row`` of pairs (`grid_shape`: at most
    `MAX_PAIRS_PER_ROW` pairs per row), its generated spectrogram above its original,
    titled ``clip i``; the row labels say which is which. All clips share one colour
    scale (the minimum and maximum over both sets), shown by one colour bar beside the
    first row. Panels are 2.45 x 1.55 in, at `DPI` (80) 196 x 124 px, so the figure is at
    most 1,368 px wide (6 pairs) and grows by 296 px per row of pairs: 4 clips make a
    956 x 340 px image, 60 clips 1,368 x 3,004 px.

    Args:
        generated: list of ``n >= 1`` float arrays ``(n_freq_bins, n_frames)`` in the transform's
            stored scale (dB for log_stft and mel, companded coefficients for mdct,
            note values for piano_roll), or ``(n_pitches, n_steps, 2)`` for score_roll.
        originals: list of float arrays of the same shape, one per generated clip, or empty
            (then only the generated clips are drawn).
        transform: the `preprocessing.transform.Transform` the clips come from (its ``display``
            gives the values drawn and the axes: Hz, mel, notes; its ``display_unit`` the colour bar's label).
        path: the PNG to write (atomically).
        title: figure title.
    Returns:
        ``path``.
    Raises:
        ParameterError: if ``generated`` is empty, or ``originals`` is neither empty nor one per clip.
    """
    if len(generated) == 0:
        raise ParameterError("There is no generated clip to plot. Received: len(generated)=0")
    if len(originals) not in (0, len(generated)):
        raise ParameterError(f"originals must be empty or one per generated clip ({len(generated)}). "
                             f"Received: len(originals)={len(originals)}")
    kwargs, unit = transform.display(generated[0])[1], transform.display_unit  # the clips as stored (a roll's channels)
    generated = [transform.display(s)[0] for s in generated]
    originals = [transform.display(s)[0] for s in originals]
    sets = [("generated", generated)] + ([("original", originals)] if originals else [])
    vmin = min(float(s.min()) for _, clips in sets for s in clips)
    vmax = max(float(s.max()) for _, clips in sets for s in clips)
    pair_rows, columns = grid_shape(len(generated))
    # the layout in inches: fixed margins and gaps (constrained layout takes seconds for a large grid)
    left, right, top, bottom = 0.8, 1.0, 0.55, 0.5
    panel_w, panel_h, column_gap, set_gap, row_gap = 2.45, 1.55, 0.12, 0.1, 0.5
    band_h = len(sets) * panel_h + (len(sets) - 1) * set_gap
    width = left + columns * panel_w + (columns - 1) * column_gap + right
    # a long title (a prompt) over a narrow grid: wrapped to the figure's width (about 12 characters an inch at 10 pt)
    title_lines = textwrap.wrap(title, max(20, int(width * 12))) or [""]
    top += 0.17 * (len(title_lines) - 1)
    height = top + pair_rows * band_h + (pair_rows - 1) * row_gap + bottom
    figure = plt.figure(figsize=(width, height))

    def place(x, y_top, w, h):  # inches from the left and from the top -> figure fractions
        return figure.add_axes([x / width, 1.0 - (y_top + h) / height, w / width, h / height])

    image = None
    for i in range(len(generated)):
        pair_row, column = divmod(i, columns)
        for k, (label, clips) in enumerate(sets):
            axis = place(left + column * (panel_w + column_gap),
                         top + pair_row * (band_h + row_gap) + k * (panel_h + set_gap), panel_w, panel_h)
            image = librosa.display.specshow(clips[i], ax=axis, vmin=vmin, vmax=vmax, cmap="magma", **kwargs)
            if k == 0:
                axis.set_title(f"clip {i}", fontsize=9, pad=3)
            last_row = i + columns >= len(generated) and k == len(sets) - 1
            axis.tick_params(labelsize=7, labelbottom=last_row, labelleft=column == 0)
            axis.set_xlabel("time (s)" if last_row else "", fontsize=8, labelpad=1)
            axis.set_ylabel(f"{label}\n{axis.get_ylabel()}" if column == 0 else "", fontsize=8)
    colour_bar = place(width - right + 0.15, top, 0.14, band_h)  # beside the first row of pairs
    figure.colorbar(image, cax=colour_bar, label=unit)
    figure.suptitle("\n".join(title_lines), fontsize=10, y=1.0 - 0.08 / height, va="top")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    plt.close(figure)
    atomic_write_bytes(path, buffer.getvalue())
    return path
