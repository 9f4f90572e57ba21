"""Inpainting masks on the score roll: harmonise a melody, or fill masked bars (issue 16; data only, no model).

A mask is what `models.samplers.inpainting.InpaintingSampler` takes: ``keep`` is 1
where the data are known and 0 where they are generated, and ``known_values`` holds
the known data (0 where unknown), both float32 of the roll's shape
``(n_pitches, n_steps, 2)`` (`preprocessing.note_grid`: channel 0 onsets, 1 sustain), or
``(n_pitches, n_steps, 2 * n_voices)`` for a voice roll (`preprocessing.score_roll`: the
pair ``2 v, 2 v + 1`` is voice ``v``'s).
The sampler wants them normalised like the training data; the score roll's
normaliser maps [0, 1] to itself.

Harmonisation (`harmonisation_mask`): at every step where the melody sounds, its
cell is known (sustain on, onset on at its first step) and so is every cell above
it (off), so the generated voices stay below the melody; the rows below are
generated. Where the melody rests, the cells at and above its lowest pitch are
known (off) and the rows below are generated. In a voice roll the melody is the first
voice (the soprano): its two channels are known, every row and step (the melody's
cells on, the rest off), and every other voice's channels are generated.

Bar span (`bar_span_mask`): the steps of the chosen bars are generated, on every
row; the rest of the roll is known.

A mask that leaves nothing to generate, or nothing known, is refused (`check_mask`).
"""

import numpy as np

from common.errors import ParameterError
from common.validation import integer
from preprocessing.midi import load_midi
from preprocessing.note_grid import N_CHANNELS, ONSET, SUSTAIN, check_notes, check_roll, grid_notes

# Steps a melody may last at most by default: 2048 sixteenths are 128 bars of 4/4, 4.3 min
# at 120 bpm; the longest chorale, bwv328, has 1060 (the shortest, bwv286, 96).
MAX_MELODY_STEPS = 2048


def check_mask(keep, shape=None, name="keep") -> np.ndarray:
    """``keep`` as float32 after checking it is 0/1, of ``shape``, with something known and something to generate.

    Args:
        keep: array of 0 and 1 (or bools), 1 known, 0 generated.
        shape: the required shape, or None.
    Returns:
        float32 array of ``keep``'s values.
    Raises:
        ParameterError: for another shape, values other than 0 and 1, or a mask that covers
            nothing (``Received: generated_fraction=0.0``) or everything (``...=1.0``).
    """
    keep = np.asarray(keep)
    if shape is not None and keep.shape != tuple(shape):
        raise ParameterError(f"{name} must have the roll's shape {tuple(shape)}. Received: {name}.shape={keep.shape}")
    if keep.size == 0 or not np.all((keep == 0) | (keep == 1)):
        raise ParameterError(f"{name} must hold only 0 (generated) and 1 (known). Received: {name}=<other values>")
    generated = float(1.0 - keep.mean())
    if generated == 0.0:
        raise ParameterError(f"The mask covers nothing: no cell is left to generate. Received: generated_fraction={generated}")
    if generated == 1.0:
        raise ParameterError(f"The mask covers everything: no cell is known. Received: generated_fraction={generated}")
    return keep.astype(np.float32)


def melody_notes(midi, steps_per_quarter=4, part=None) -> np.ndarray:
    """The notes of one part of a MIDI file on its tick grid (`preprocessing.note_grid.grid_notes`): a melody.

    Args:
        midi: path of a Standard MIDI File, its bytes, or a `pretty_midi.PrettyMIDI`.
        steps_per_quarter: int >= 1 (4: sixteenths).
        part: the part's track name (``"Soprano"`` for a chorale's melody, case-insensitive),
            its index among the non-drum parts, or None for the only non-drum part.
    Returns:
        int64 array ``(n_notes, 3)``: MIDI pitch, start step, end step; one voice (no overlaps).
    Raises:
        ParameterError: if the MIDI cannot be read or parsed (naming it), the part is
            missing (naming the parts there are) or None with several parts, it has no
            note, or its notes overlap (not one voice).
    """
    import pretty_midi

    midi = midi if isinstance(midi, pretty_midi.PrettyMIDI) else load_midi(midi)
    parts = [instrument for instrument in midi.instruments if not instrument.is_drum]
    names = [instrument.name for instrument in parts]
    if part is None and len(parts) == 1:
        chosen = parts[0]
    elif isinstance(part, str) and [n.lower() for n in names].count(part.lower()) >= 1:
        chosen = parts[[n.lower() for n in names].index(part.lower())]
    elif isinstance(part, (int, np.integer)) and not isinstance(part, bool) and 0 <= part < len(parts):
        chosen = parts[int(part)]
    else:
        raise ParameterError(
            f"Choose the melody's part by name or index (the MIDI's non-drum parts: {names or 'none'}). "
            f"Received: part={part!r}"
        )
    notes = grid_notes(midi, steps_per_quarter, parts=[chosen])
    if not notes.size:
        raise ParameterError(f"The melody's part has no note. Received: part={part!r}")
    overlap = np.flatnonzero(notes[1:, 1] < notes[:-1, 2])
    if overlap.size:
        step = int(notes[overlap[0] + 1, 1])
        raise ParameterError(f"A melody must be one voice, but its notes overlap at step {step}. Received: part={part!r}")
    return notes


def harmonisation_mask(melody, lowest_pitch, highest_pitch, n_steps=None, max_steps=MAX_MELODY_STEPS, n_voices=None):
    """The known values and the mask that harmonise ``melody`` below it (module docstring).

    Args:
        melody: int array ``(n_notes, 3)``: MIDI pitch, start step, end step, one voice
            (`melody_notes`), steps counted from the roll's column 0.
        lowest_pitch, highest_pitch: ints, the roll's first and last rows' MIDI pitches (the model's).
        n_steps: int >= 1 or None: the roll's steps (None: the melody's end).
        max_steps: int >= 1: the longest roll accepted.
        n_voices: None (a merged roll) or int >= 2: the voices of a voice roll, the melody the first.
    Returns:
        ``(known_values, keep)``, float32 arrays ``(highest_pitch - lowest_pitch + 1, n_steps, 2)``
        (``2 * n_voices`` channels for a voice roll): the melody's cells and the silence above it (in a
        voice roll: the first voice's channels), and 1 where known, 0 where generated.
    Raises:
        ParameterError: naming the value, for a melody with no note, overlapping notes, a
            pitch outside [lowest_pitch, highest_pitch] (``Received: pitch=90``), an end after
            ``n_steps`` or a length above ``max_steps`` (``Received: n_steps=...``), ``n_voices``
            below 2, or a mask that covers nothing or everything (a merged roll's melody on the
            lowest row throughout).
    """
    melody = check_notes(melody, "melody")
    lowest_pitch = integer("lowest_pitch", lowest_pitch, 0, 127)
    highest_pitch = integer("highest_pitch", highest_pitch, lowest_pitch, 127)
    if not melody.size:
        raise ParameterError("The melody has no note. Received: melody.shape=(0, 3)")
    outside = melody[(melody[:, 0] < lowest_pitch) | (melody[:, 0] > highest_pitch), 0]
    if outside.size:
        raise ParameterError(
            f"The melody goes outside the model's pitch range [{lowest_pitch}, {highest_pitch}]. "
            f"Received: pitch={int(outside[0])}"
        )
    melody = melody[np.lexsort((melody[:, 0], melody[:, 1]))]
    if np.any(melody[1:, 1] < melody[:-1, 2]):
        raise ParameterError(f"A melody must be one voice, but its notes overlap. Received: melody={melody.tolist()[:4]}")
    end = int(melody[:, 2].max())
    n_steps = end if n_steps is None else integer("n_steps", n_steps, 1)
    max_steps = integer("max_steps", max_steps, 1)
    if n_steps > max_steps:
        raise ParameterError(f"The melody is longer than the {max_steps} steps accepted. Received: n_steps={n_steps}")
    if end > n_steps:
        raise ParameterError(f"The melody ends at step {end}, after the roll's {n_steps} steps. Received: melody_end={end}")
    n_channels = N_CHANNELS if n_voices is None else N_CHANNELS * integer("n_voices", n_voices, 2)
    rows = np.arange(highest_pitch - lowest_pitch + 1)[:, None]  # (n_pitches, 1)
    ceiling = np.full(n_steps, int(melody[:, 0].min()) - lowest_pitch)  # rests: at the melody's lowest pitch
    known_values = np.zeros((rows.shape[0], n_steps, n_channels), np.float32)  # the melody in channels 0 and 1
    for pitch, start, stop in melody:
        row = pitch - lowest_pitch
        ceiling[start:stop] = row
        known_values[row, start:stop, SUSTAIN] = 1.0
        known_values[row, start, ONSET] = 1.0
    if n_voices is None:
        keep = np.repeat((rows >= ceiling[None, :])[..., None], N_CHANNELS, axis=2)
    else:  # the first voice's channels, everywhere
        keep = np.broadcast_to(np.arange(n_channels) < N_CHANNELS, known_values.shape)
    return known_values, check_mask(keep, name="keep")


def bar_span_mask(values, start_bar, n_bars, steps_per_bar=16, first_bar_step=0):
    """The known values and the mask that regenerate bars ``start_bar .. start_bar + n_bars - 1`` of a roll.

    Args:
        values: real float array ``(n_pitches, n_steps, 2)`` (a voice roll: ``2 * n_voices`` channels): the roll
            whose other bars are kept.
        start_bar: int, the first bar generated (0: the bar that starts at ``first_bar_step``).
        n_bars: int >= 1, bars generated.
        steps_per_bar: int >= 1 (16: a 4/4 bar of sixteenths; 12: 3/4).
        first_bar_step: int: the step where bar 0 starts (the pipeline's clips start on a bar line: 0).
    Returns:
        ``(known_values, keep)``, float32 of ``values``'s shape: ``values`` with the span
        zeroed, and 1 outside the span, 0 in it (steps ``first_bar_step + start_bar *
        steps_per_bar`` up to ``n_bars * steps_per_bar`` later, cut to the roll).
    Raises:
        ParameterError: for malformed values or arguments, a span outside the roll
            (covers nothing: ``Received: start_bar=...``) or over all of it (covers
            everything: ``Received: n_bars=...``).
    """
    values = check_roll(values, name="values", n_channels=None)
    n_bars = integer("n_bars", n_bars, 1)
    steps_per_bar = integer("steps_per_bar", steps_per_bar, 1)
    start = integer("first_bar_step", first_bar_step) + integer("start_bar", start_bar) * steps_per_bar
    stop = start + n_bars * steps_per_bar
    n_steps = values.shape[1]
    if stop <= 0 or start >= n_steps:
        raise ParameterError(
            f"The bars span steps [{start}, {stop}), outside the roll's {n_steps} steps: the mask covers nothing. "
            f"Received: start_bar={start_bar}"
        )
    if start <= 0 and stop >= n_steps:
        raise ParameterError(
            f"The bars span steps [{start}, {stop}), all of the roll's {n_steps} steps: the mask covers everything. "
            f"Received: n_bars={n_bars}"
        )
    keep = np.ones(values.shape, np.float32)
    keep[:, max(start, 0) : min(stop, n_steps)] = 0.0
    return (values * keep).astype(np.float32), check_mask(keep)
