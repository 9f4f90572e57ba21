"""Notes on a metrical grid: read from a MIDI file's ticks, written to a two-channel roll, decoded back.

The score roll (`preprocessing.score_roll.ScoreRollTransform`), the harmonisation
masks (`preprocessing.harmonisation`) and the symbolic metrics
(`evaluation.symbolic`) share these functions.

Notation:
    step          one cell of the grid: 1 / steps_per_quarter of a quarter note
                  (steps_per_quarter = 4: sixteenth notes). Step k covers ticks
                  [k R / S, (k + 1) R / S), R the file's ticks per quarter, S steps per quarter.
    notes         int64 array ``(n_notes, 3)``: MIDI pitch, start step, end step
                  (exclusive, > start), sorted by (start, pitch, end).
    roll          float32 array ``(n_pitches, n_steps, 2)``, row 0 the lowest pitch:
                  channel `ONSET` is 1 where a note starts, channel `SUSTAIN` is 1
                  in every step a note sounds (its onset step included), 0 elsewhere.
                  A repeated note is two onsets under one unbroken sustain.

From ticks to steps (`grid_notes`): a note's start and end ticks are rounded to the
nearest step, halves up; a note that would be shorter than one step keeps one step.
music21 writes 10080 ticks per quarter, so every note of the chorales on the
sixteenth grid is read exactly; on the 350 chorales 20 of 99,077 notes (pairs of
thirty-second notes) are not on it and are rounded.

Decoding rule (`roll_to_notes`), per pitch, with ``on = onset >= onset_threshold``
and ``held = sustain >= sustain_threshold``: a step sounds if ``on or held``; a note
starts at every step where ``on``, and lasts while the following steps are ``held``
and not ``on`` (a new onset ends it and starts the next note, so repeated notes
survive). It lasts at least its onset step. Sounding steps that no onset starts
(sustain without an onset, "orphan" runs) are not notes, except (a) a run that
begins at step 0, which is a note held over from before the roll (a clip cut from
a piece starts with such runs), and (b) with ``orphan_min_steps = m``, a run of at
least ``m`` steps, which becomes a note from its first step.

What a roll cannot hold: two notes of one pitch that start together (two voices in
unison) are one note, with the later end; a note that starts while the same pitch
still sounds in another part ends the earlier note there (the later one runs to
the later end of the two). Everything else goes round exactly:
``roll_to_notes(notes_to_roll(notes)) == notes`` for notes without same-pitch overlaps
(tests/preprocessing/test_score_roll.py checks both on whole chorales).

One voice (a voice roll's pair of channels, `preprocessing.score_roll`): `monophonic_notes`
makes a part's notes one line, and `one_row_per_step` makes a roll's columns hold one row
each before decoding, so that a voice decodes to one pitch per step.
"""

import fractions

import numpy as np

from common.errors import ParameterError
from common.validation import finite_number, integer

ONSET, SUSTAIN = 0, 1  # channel indices of a roll
N_CHANNELS = 2
DEFAULT_METER = (4, 4)  # the Standard MIDI File's meter when a file states none


def check_notes(notes, name="notes") -> np.ndarray:
    """``notes`` as an int64 ``(n_notes, 3)`` array (pitch, start step, end step), checked.

    Raises:
        ParameterError: if it is not ``(n, 3)`` integers, a pitch is outside [0, 127],
            a start is negative or an end is not after its start.
    """
    array = np.asarray(notes)
    if array.size == 0:
        return np.zeros((0, 3), np.int64)
    if array.ndim != 2 or array.shape[1] != 3 or not np.issubdtype(array.dtype, np.integer):
        raise ParameterError(
            f"{name} must be an integer array (n_notes, 3): pitch, start step, end step. "
            f"Received: {name}.shape={array.shape}, {name}.dtype={array.dtype}"
        )
    array = array.astype(np.int64)
    bad = (array[:, 0] < 0) | (array[:, 0] > 127) | (array[:, 1] < 0) | (array[:, 2] <= array[:, 1])
    if bad.any():
        raise ParameterError(
            f"{name} needs pitches in [0, 127], starts >= 0 and ends after starts. "
            f"Received: {name}[{int(np.argmax(bad))}]={array[np.argmax(bad)].tolist()}"
        )
    return array


def sort_notes(notes) -> np.ndarray:
    """``notes`` sorted by (start, pitch, end)."""
    notes = np.asarray(notes, np.int64).reshape(-1, 3)
    return notes[np.lexsort((notes[:, 2], notes[:, 0], notes[:, 1]))]


def merge_notes(parts) -> np.ndarray:
    """The notes of several parts as one int64 array ``(n_notes, 3)``, sorted (`sort_notes`).

    Args:
        parts: a sequence of int arrays ``(n_i, 3)``: pitch, start step, end step.
    """
    arrays = [np.asarray(p, np.int64).reshape(-1, 3) for p in parts]
    return sort_notes(np.concatenate(arrays) if arrays else np.zeros((0, 3), np.int64))


def monophonic_notes(notes, keep_highest=True) -> np.ndarray:
    """``notes`` made one voice: at most one note sounds at each step.

    Of the notes that start at one step only one is kept: the highest pitch (``keep_highest``,
    an upper voice) or the lowest (a lower voice), the longest of that pitch; a kept note
    still sounding when the next kept note starts ends there. Notes that already form one
    voice are returned unchanged. (Of the 93,654 notes of the four voices of 348 chorales, it
    drops 5 and shortens 1, all in the soprano parts of bwv299, bwv36.4-2 and bwv432:
    docs/REPRESENTATIONS.md.)

    Args:
        notes: int array ``(n_notes, 3)``: MIDI pitch, start step, end step.
        keep_highest: bool: of notes that start together keep the highest (True) or the lowest.
    Returns:
        int64 array ``(n_kept, 3)``, sorted, without two notes sounding at one step.
    Raises:
        ParameterError: for malformed notes.
    """
    notes = check_notes(notes)
    if not notes.size:
        return notes
    # by start, then pitch (ascending for the highest last, descending for the lowest last), then end
    ordered = notes[np.lexsort((notes[:, 2], notes[:, 0] if keep_highest else -notes[:, 0], notes[:, 1]))]
    chosen = ordered[np.append(ordered[1:, 1] != ordered[:-1, 1], True)].copy()  # the last of each start
    chosen[:-1, 2] = np.minimum(chosen[:-1, 2], chosen[1:, 1])  # cut where the next note starts
    return sort_notes(chosen)


def grid_notes(midi, steps_per_quarter, parts=None) -> np.ndarray:
    """The notes of a MIDI file on the grid of its ticks (module docstring); drums are left out.

    Args:
        midi: a `pretty_midi.PrettyMIDI` (its ``resolution`` is the ticks per quarter note).
        steps_per_quarter: int >= 1, steps per quarter note (4: sixteenths).
        parts: None (every part of ``midi``) or a list of its `pretty_midi.Instrument` parts.
    Returns:
        int64 array ``(n_notes, 3)``: pitch, start step, end step; the parts merged, sorted.
    Raises:
        ParameterError: if ``steps_per_quarter`` is not an integer >= 1.
    """
    steps_per_quarter = integer("steps_per_quarter", steps_per_quarter, 1)
    ticks = [
        (note.pitch, midi.time_to_tick(note.start), midi.time_to_tick(note.end))
        for instrument in (midi.instruments if parts is None else parts)
        if not instrument.is_drum
        for note in instrument.notes
    ]
    ticks = np.asarray(ticks, np.int64).reshape(-1, 3)
    resolution = int(midi.resolution)
    # round(t S / R), halves up, in integers: floor((2 t S + R) / 2R)
    starts = (2 * ticks[:, 1] * steps_per_quarter + resolution) // (2 * resolution)
    ends = (2 * ticks[:, 2] * steps_per_quarter + resolution) // (2 * resolution)
    return sort_notes(np.stack([ticks[:, 0], starts, np.maximum(ends, starts + 1)], axis=1))


def notes_to_roll(notes, n_steps, min_pitch, max_pitch, offset_steps=0) -> np.ndarray:
    """The two-channel roll of ``notes`` (module docstring), from step ``offset_steps`` on.

    Args:
        notes: int array ``(n_notes, 3)``: pitch, start step, end step.
        n_steps: int >= 1, columns of the roll.
        min_pitch, max_pitch: ints, the MIDI pitches of the first and last rows; notes
            outside them are left out.
        offset_steps: int, the step of column 0 (a note that started before it shows
            as sustain without onset from column 0).
    Returns:
        float32 array ``(max_pitch - min_pitch + 1, n_steps, 2)``, values 0 or 1.
    Raises:
        ParameterError: for malformed notes or an argument out of range.
    """
    notes = check_notes(notes)
    n_steps = integer("n_steps", n_steps, 1)
    min_pitch = integer("min_pitch", min_pitch, 0, 127)
    max_pitch = integer("max_pitch", max_pitch, min_pitch, 127)
    offset_steps = integer("offset_steps", offset_steps)
    roll = np.zeros((max_pitch - min_pitch + 1, n_steps, N_CHANNELS), np.float32)
    inside = (notes[:, 0] >= min_pitch) & (notes[:, 0] <= max_pitch)
    for pitch, start, end in notes[inside] - [min_pitch, offset_steps, offset_steps]:
        roll[pitch, max(start, 0) : max(min(end, n_steps), 0), SUSTAIN] = 1.0
        if 0 <= start < n_steps:
            roll[pitch, start, ONSET] = 1.0
    return roll


def check_roll(roll, n_rows=None, name="roll", n_channels=N_CHANNELS) -> np.ndarray:
    """``roll`` as a float array ``(n_rows, n_steps, n_channels)``, n_steps >= 1, finite.

    Args:
        roll: the array.
        n_rows: int, or None for any number of rows.
        name: its name in messages.
        n_channels: int, the channels required (2: onset and sustain; a voice roll has 2 per
            voice), or None for any positive multiple of 2.
    Raises:
        ParameterError: for another shape or non-finite values, naming them.
    """
    array = np.asarray(roll)
    channels = array.shape[-1] if array.ndim else 0
    if n_channels is None:
        channels_ok = channels >= N_CHANNELS and channels % N_CHANNELS == 0
    else:
        channels_ok = channels == n_channels
    if array.ndim != 3 or not channels_ok or array.shape[1] < 1 or (n_rows is not None and array.shape[0] != n_rows):
        rows = "n_pitches" if n_rows is None else str(n_rows)
        expected = "2 * n_voices" if n_channels is None else str(n_channels)
        raise ParameterError(
            f"{name} must have the shape ({rows}, n_steps >= 1, {expected}). Received: {name}.shape={array.shape}"
        )
    if not np.issubdtype(array.dtype, np.number) or np.iscomplexobj(array):
        raise ParameterError(f"{name} must be a real numeric array. Received: {name}.dtype={array.dtype}")
    if not np.all(np.isfinite(array)):
        raise ParameterError(f"{name} holds non-finite values (NaN or inf). Received: {name}=<non-finite>")
    return array


def _threshold(name, value):
    return finite_number(name, value, 0.0, 1.0)


def roll_to_notes(roll, min_pitch, onset_threshold=0.5, sustain_threshold=0.5, orphan_min_steps=None) -> np.ndarray:
    """The notes of a roll, by the decoding rule of the module docstring.

    Args:
        roll: real float array ``(n_pitches, n_steps, 2)``, channels onset and sustain,
            values nominally in [0, 1] (a generated roll's values may lie outside).
        min_pitch: int in [0, 127], the MIDI pitch of row 0.
        onset_threshold, sustain_threshold: floats in (0, 1]: a cell is on when its
            value is >= the threshold.
        orphan_min_steps: None (sustain without an onset is never a note, but at step 0)
            or int >= 1: such a run of at least this many steps is a note.
    Returns:
        int64 array ``(n_notes, 3)``: pitch, start step, end step, sorted; steps count from
        the roll's column 0.
    Raises:
        ParameterError: for a malformed roll, a pitch above 127 or an argument out of range.
    """
    roll = check_roll(roll)
    min_pitch = integer("min_pitch", min_pitch, 0, 127 - roll.shape[0] + 1)
    on = roll[..., ONSET] >= _threshold("onset_threshold", onset_threshold)
    held = roll[..., SUSTAIN] >= _threshold("sustain_threshold", sustain_threshold)
    if orphan_min_steps is not None:
        orphan_min_steps = integer("orphan_min_steps", orphan_min_steps, 1)
    sounding = np.pad(on | held, ((0, 0), (1, 1)))
    edges = np.diff(sounding.astype(np.int8), axis=1)  # +1 where a run starts, -1 one past where it ends
    rows, run_starts = np.nonzero(edges == 1)
    _, run_ends = np.nonzero(edges == -1)  # row-major: the k-th end closes the k-th start
    notes = []
    for row, run_start, run_end in zip(rows, run_starts, run_ends):
        onsets = run_start + np.flatnonzero(on[row, run_start:run_end])
        if onsets.size == 0 or onsets[0] > run_start:  # the run opens without an onset
            length = (onsets[0] if onsets.size else run_end) - run_start
            if run_start == 0 or (orphan_min_steps is not None and length >= orphan_min_steps):
                onsets = np.concatenate([[run_start], onsets])
        bounds = np.append(onsets, run_end)
        notes += [(row + min_pitch, start, end) for start, end in zip(bounds[:-1], bounds[1:])]
    return sort_notes(notes)


def one_row_per_step(roll) -> np.ndarray:
    """``roll`` with one row left in each column: a voice's roll made ready to decode to one pitch per step.

    In each column the row with the largest ``onset + sustain`` is kept as it is (of equal
    ones the lowest row) and every other row of the column is set to 0; a column whose kept
    values are below the decoder's thresholds stays silent (`roll_to_notes`).

    Args:
        roll: real float array ``(n_pitches, n_steps, 2)``: one voice's onsets and sustain.
    Returns:
        float array of ``roll``'s shape and dtype.
    Raises:
        ParameterError: for a malformed roll.
    """
    roll = check_roll(roll)
    best = np.argmax(roll[..., ONSET] + roll[..., SUSTAIN], axis=0)  # (n_steps,)
    kept = np.arange(roll.shape[0])[:, None] == best[None, :]  # (n_pitches, n_steps)
    return np.where(kept[..., None], roll, 0).astype(roll.dtype)


def bar_lines(midi, n_steps, steps_per_quarter, pickup_quarters=0.0) -> np.ndarray:
    """The steps where bars start, from the MIDI's time signatures and the score's pickup.

    A Standard MIDI File counts bars from tick 0 in its meter (4/4 if it states none);
    a time signature event that changes the meter starts a new bar there, and events
    that restate the meter are ignored (music21 restates it where a repeat sign
    splits a measure). A score's pickup (anacrusis) is not in the file: music21 writes
    the pickup measure from tick 0, so bar 1 starts ``pickup_quarters`` later, and the
    bars of the first meter are counted from there, and backwards one bar.

    Args:
        midi: a `pretty_midi.PrettyMIDI`.
        n_steps: int >= 1: bar lines are listed below it.
        steps_per_quarter: int >= 1.
        pickup_quarters: float >= 0, in quarter notes, shorter than the first bar: the
            length of the pickup measure (0: none). The chorales' recipe writes it in its
            manifest (column ``pickup_quarters``).
    Returns:
        int64 array, ascending: the first bar line at or before step 0 (negative for a
        pickup), then every bar line below ``n_steps``; a bar length that is not a whole
        number of steps is rounded per bar line to the nearest step.
    Raises:
        ParameterError: for an argument out of range, or a pickup not shorter than the first bar.
    """
    n_steps = integer("n_steps", n_steps, 1)
    steps_per_quarter = integer("steps_per_quarter", steps_per_quarter, 1)
    pickup = fractions.Fraction(finite_number("pickup_quarters", pickup_quarters, 0.0, low_open=False)).limit_denominator(
        10080
    )
    meters = []  # (start step as a Fraction, bar length in steps as a Fraction)
    for change in sorted(midi.time_signature_changes, key=lambda c: c.time):
        start = fractions.Fraction(midi.time_to_tick(change.time) * steps_per_quarter, midi.resolution)
        length = fractions.Fraction(4 * change.numerator * steps_per_quarter, change.denominator)
        if not meters and start > 0:
            meters.append((fractions.Fraction(0), fractions.Fraction(4 * DEFAULT_METER[0] * steps_per_quarter,
                                                                     DEFAULT_METER[1])))
        if not meters or length != meters[-1][1]:
            meters.append((start, length))
    if not meters:
        meters = [(fractions.Fraction(0), fractions.Fraction(4 * DEFAULT_METER[0] * steps_per_quarter, DEFAULT_METER[1]))]
    first_bar = meters[0][1]
    pickup_steps = pickup * steps_per_quarter
    if pickup_steps >= first_bar:
        raise ParameterError(
            f"pickup_quarters must be shorter than the first bar ({float(first_bar / steps_per_quarter):g} quarters). "
            f"Received: pickup_quarters={pickup_quarters!r}"
        )
    lines = [pickup_steps - first_bar] if pickup_steps > 0 else []
    for k, (start, length) in enumerate(meters):
        position = max(start, pickup_steps) if k == 0 else start
        end = meters[k + 1][0] if k + 1 < len(meters) else fractions.Fraction(n_steps)
        while position < end:
            lines.append(position)
            position += length
    return np.asarray(sorted({int(np.floor(line + fractions.Fraction(1, 2))) for line in lines if line < n_steps}),
                      np.int64)
