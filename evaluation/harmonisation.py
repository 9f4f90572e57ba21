"""How a harmonisation treats the melody it was given: kept, on top, with voices below it, in key (issue 16).

Measured on notes (int ``(n_notes, 3)``: MIDI pitch, start step, end step,
`preprocessing.note_grid`) of one harmonised piece of ``n_steps`` steps, the melody
it harmonises, and optionally a reference harmonisation of the same melody (Bach's,
for a chorale of the test split). At the melody's steps (the steps where a melody
note sounds):

    melody_kept       share of them where the piece sounds the melody's pitch.
    melody_on_top     share of them where the piece's highest sounding pitch is the melody's.
    voices_below      mean number of pitches sounding below the melody there (3 in four-part harmony).

Keys: the piece is cut into windows of ``window_steps`` steps (64: four 4/4 bars of
sixteenths, one model window) hopping by half a window, the last one ending with the
piece; each window's key is music21's analysis (`evaluation.symbolic.analyse_key`,
Aarden-Essen profiles):

    in_key            share of windows whose key (tonic and mode) is the whole piece's key.
    key_correlation   mean correlation of the windows' best keys (real test clips: 0.88,
                      docs/MEASUREMENTS.md).
    key_agreement     with a reference: share of windows whose key is the reference's key
                      in the same window (None without a reference).

Bars regenerated in a piece (`span_measures`), steps [start, stop):

    span_notes        notes starting in the span.
    span_voices       mean number of pitches sounding at a step of the span.
    span_key          music21's key of the span's notes; ``span_in_key``: whether it is the
                      key of the original piece (the whole of it).
    span_same         share of the span's sounding cells (pitch, step) that are the original's
                      too (intersection over union; 1.0: the bars came back unchanged).
"""

import numpy as np

from common.validation import integer
from evaluation.symbolic import analyse_key, sounding_pitches
from preprocessing.note_grid import check_notes

WINDOW_STEPS = 64  # four 4/4 bars of sixteenths: one window of the shipped score-roll model


def melody_measures(notes, melody, n_steps) -> dict:
    """``melody_kept``, ``melody_on_top`` and ``voices_below`` (module docstring) of one piece.

    Args:
        notes: int array ``(n_notes, 3)``, the harmonised piece's notes (the melody's among them).
        melody: int array ``(n_melody_notes, 3)``, the melody given.
        n_steps: int >= 1, the piece's steps; notes are cut to them.
    Returns:
        dict of floats in [0, 1] (``voices_below`` >= 0), NaN when the melody never sounds.
    Raises:
        ParameterError: for malformed notes or ``n_steps``.
    """
    sounding = sounding_pitches(notes, n_steps)
    melody_pitches = sounding_pitches(melody, n_steps)
    steps = [t for t in range(n_steps) if len(melody_pitches[t])]
    if not steps:
        return {"melody_kept": float("nan"), "melody_on_top": float("nan"), "voices_below": float("nan")}
    tops = [int(melody_pitches[t][0]) for t in steps]
    return {
        "melody_kept": float(np.mean([top in sounding[t] for t, top in zip(steps, tops)])),
        "melody_on_top": float(np.mean([len(sounding[t]) > 0 and sounding[t][0] == top for t, top in zip(steps, tops)])),
        "voices_below": float(np.mean([np.sum(sounding[t] < top) for t, top in zip(steps, tops)])),
    }


def window_starts(n_steps, window_steps=WINDOW_STEPS) -> list:
    """First steps of the key windows: 0, window_steps / 2, ..., the last ending at ``n_steps`` (one window if shorter)."""
    n_steps, window_steps = integer("n_steps", n_steps, 1), integer("window_steps", window_steps, 2)
    last = max(n_steps - window_steps, 0)
    starts = list(range(0, last, window_steps // 2))
    return starts + [last]


def notes_in(notes, start, stop) -> np.ndarray:
    """The notes sounding in steps [start, stop), cut to them and shifted to start at step 0."""
    notes = check_notes(notes)
    inside = notes[(notes[:, 1] < stop) & (notes[:, 2] > start)].copy()
    inside[:, 1] = np.maximum(inside[:, 1], start) - start
    inside[:, 2] = np.minimum(inside[:, 2], stop) - start
    return inside


def key_measures(notes, n_steps, steps_per_quarter=4, reference=None, window_steps=WINDOW_STEPS) -> dict:
    """``in_key``, ``key_correlation``, ``key_agreement`` and ``key`` (the whole piece's) of one piece.

    Args:
        notes: int array ``(n_notes, 3)``; n_steps: int >= 1.
        steps_per_quarter: int >= 1, the grid's steps per quarter note.
        reference: None or int array ``(n, 3)``, another harmonisation of the same melody.
        window_steps: int >= 2, steps per key window.
    Returns:
        dict: ``key`` (str "<tonic> <mode>" or None), ``in_key`` and ``key_agreement`` (floats
        in [0, 1]; ``key_agreement`` None without a reference), ``key_correlation`` (float in [-1, 1]).
    """
    key, _ = analyse_key(notes_in(notes, 0, n_steps), steps_per_quarter)
    windows = [analyse_key(notes_in(notes, s, s + window_steps), steps_per_quarter) for s in window_starts(n_steps, window_steps)]
    result = {
        "key": key,
        "in_key": float(np.mean([found == key for found, _ in windows])),
        "key_correlation": float(np.nanmean([correlation for _, correlation in windows])),
        "key_agreement": None,
    }
    if reference is not None:
        references = [analyse_key(notes_in(reference, s, s + window_steps), steps_per_quarter)[0]
                      for s in window_starts(n_steps, window_steps)]
        result["key_agreement"] = float(np.mean([found == ref for (found, _), ref in zip(windows, references)]))
    return result


def measure_harmonisation(notes, melody, n_steps, steps_per_quarter=4, reference=None, window_steps=WINDOW_STEPS):
    """`melody_measures` and `key_measures` of one harmonised piece, in one dict (module docstring)."""
    return {**melody_measures(notes, melody, n_steps),
            **key_measures(notes, n_steps, steps_per_quarter, reference, window_steps)}


def mean_measures(results) -> dict:
    """The mean over pieces of every numeric measure of `measure_harmonisation`'s dicts (None where none has it)."""
    means = {}
    for name in ("melody_kept", "melody_on_top", "voices_below", "in_key", "key_correlation", "key_agreement"):
        values = [r[name] for r in results if r.get(name) is not None]
        means[name] = round(float(np.mean(values)), 4) if values else None
    return means


def span_measures(notes, original, start, stop, steps_per_quarter=4, piece_key=None) -> dict:
    """The module docstring's span measures of ``notes`` (a piece with steps [start, stop) regenerated).

    Args:
        notes, original: int arrays ``(n_notes, 3)``: the piece and the piece it was made from.
        start, stop: ints, 0 <= start < stop: the regenerated steps.
        steps_per_quarter: int >= 1, the grid's steps per quarter note.
        piece_key: the original's key as `evaluation.symbolic.analyse_key` names it, when the caller
            has it already (None: analysed here).
    Returns:
        dict: ``span_notes`` (int), ``span_voices`` (float), ``span_key`` (str or None),
        ``span_in_key`` (bool), ``span_same`` (float in [0, 1], 1.0 when neither sounds).
    """
    start, stop = integer("start", start, 0), integer("stop", stop, start + 1)
    notes, original = check_notes(notes), check_notes(original)
    sounding = [set(map(int, pitches)) for pitches in sounding_pitches(notes_in(notes, start, stop), stop - start)]
    real = [set(map(int, pitches)) for pitches in sounding_pitches(notes_in(original, start, stop), stop - start)]
    union = sum(len(a | b) for a, b in zip(sounding, real))
    key, _ = analyse_key(notes_in(notes, start, stop), steps_per_quarter)
    if piece_key is None:
        piece_key, _ = analyse_key(original, steps_per_quarter)
    return {
        "span_notes": int(np.sum((notes[:, 1] >= start) & (notes[:, 1] < stop))),
        "span_voices": float(np.mean([len(pitches) for pitches in sounding])),
        "span_key": key,
        "span_in_key": key is not None and key == piece_key,
        "span_same": float(sum(len(a & b) for a, b in zip(sounding, real)) / union) if union else 1.0,
    }
