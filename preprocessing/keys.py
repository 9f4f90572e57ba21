"""Musical keys of score rolls: key names, music21's key analysis of notes, and key normalisation (issue 16).

Key normalisation moves every piece to one key signature before a model sees it: a
major piece to C major, a minor piece to A minor (relative keys share a signature, so
both have no sharps or flats). The shift is the transposition, in semitones, that
takes the piece's tonic to C (major) or to A (minor), chosen in [-6, +5]:

    shift = ((target - tonic + 6) mod 12) - 6,    target = 0 (C) for major, 9 (A) for minor,

with pitch classes C = 0, C# = 1, ..., B = 11. So G major (7) moves by +5 (up a
fourth to C), D minor (2) by -5 (down a fourth to A), F major (5) by -5, C minor (0)
by -3, and F# major, a tritone from C either way, by -6 (the rule takes the tie
downwards). A model trained on normalised rolls writes in
C major or A minor; moving its output by ``-normalising_shift(key)`` puts it in ``key``
(a sample in the other mode comes out in ``key``'s relative key: the signature is what
is chosen).

Key names are read by music21 (``music21.key.Key``): ``"<tonic> <mode>"`` or a tonic
alone, the tonic a letter A-G with ``#``, ``b`` or ``-`` (music21's flat) accidentals
(``"D minor"``, ``"Bb major"``, ``"F#"``); a tonic alone is major when its letter is a
capital and minor when it is lower case (music21's convention: ``"g"`` is G minor).
"""

import numpy as np

from common.errors import ParameterError
from common.validation import integer
from preprocessing.note_grid import check_notes

MODES = ("major", "minor")
NORMALISED_TONICS = {"major": 0, "minor": 9}  # pitch classes of C and A: the keys normalised rolls are in
NORMALISED_KEYS = "C major / A minor"  # for messages


def parse_key(key) -> tuple:
    """The tonic's pitch class and the mode of a key name (module docstring).

    Args:
        key: str, e.g. ``"D minor"``, ``"Bb major"``, ``"F#"`` (major), ``"g"`` (minor).
    Returns:
        ``(pitch_class, mode)``: int in [0, 11] (C = 0), ``"major"`` or ``"minor"``.
    Raises:
        ParameterError: naming ``key``, if it is not a tonic with an optional mode ``major`` or ``minor``.
    """
    words = key.split() if isinstance(key, str) else []
    if len(words) not in (1, 2) or (len(words) == 2 and words[1].lower() not in MODES):
        raise ParameterError(f"A key must be a tonic and a mode, major or minor, such as 'D minor', 'Bb major' or "
                             f"'F#' (major). Received: key={key!r}")
    from music21 import key as music21_key

    try:
        found = music21_key.Key(words[0], *(w.lower() for w in words[1:]))
    except Exception:  # music21 raises its own exception types (PitchException, ...) for a name it cannot read
        found = None
    if found is None or found.mode not in MODES:
        raise ParameterError(f"Not a key name music21 reads (a tonic A-G with # or b, then major or minor). "
                             f"Received: key={key!r}")
    return int(found.tonic.pitchClass), str(found.mode)


def normalising_shift(key) -> int:
    """The semitones that take ``key`` to C major (major) or A minor (minor), in [-6, +5] (module docstring).

    Args:
        key: a key name (`parse_key`).
    Returns:
        int in [-6, 5]: G major +5, D minor -5, F# major -6, C major and A minor 0.
    Raises:
        ParameterError: as `parse_key`.
    """
    tonic, mode = parse_key(key)
    return (NORMALISED_TONICS[mode] - tonic + 6) % 12 - 6


def analyse_key(notes, steps_per_quarter):
    """music21's key of ``notes``: ``(key name "<tonic> <mode>", correlation)``, or ``(None, nan)`` without notes.

    The method is the chorales recipe's (`preprocessing.recipes.chorales.analysis.KEY_ANALYSIS_METHOD`,
    Krumhansl-Schmuckler with Aarden-Essen profiles), on the notes' durations. The name has music21's
    spelling (``"B- major"``), which `parse_key` reads.

    Args:
        notes: int array ``(n_notes, 3)``: MIDI pitch, start step, end step (`preprocessing.note_grid`).
        steps_per_quarter: int >= 1, steps per quarter note of the notes' grid.
    Returns:
        ``(name or None, correlation)``: the correlation in [-1, 1] of the best key's profile with the
        notes' pitch-class durations (nan without notes).
    Raises:
        ParameterError: for malformed notes.
    """
    from music21 import note, stream

    from preprocessing.recipes.chorales.analysis import KEY_ANALYSIS_METHOD

    notes = check_notes(notes)
    if not notes.size:
        return None, float("nan")
    part = stream.Stream()
    for pitch, start, end in notes:
        part.insert(start / steps_per_quarter, note.Note(int(pitch), quarterLength=(end - start) / steps_per_quarter))
    found = part.analyze(KEY_ANALYSIS_METHOD)
    return f"{found.tonic.name} {found.mode}", float(found.correlationCoefficient)


def transpose_notes(notes, semitones) -> np.ndarray:
    """``notes`` moved by ``semitones``; notes moved outside the MIDI pitches [0, 127] are left out.

    Args:
        notes: int array ``(n_notes, 3)``: MIDI pitch, start step, end step.
        semitones: int in [-127, 127], added to every pitch.
    Returns:
        int64 array ``(n_kept, 3)``, in the order of ``notes``.
    Raises:
        ParameterError: for malformed notes or ``semitones`` out of range.
    """
    notes = check_notes(notes).copy()
    notes[:, 0] += integer("semitones", semitones, -127, 127)
    return notes[(notes[:, 0] >= 0) & (notes[:, 0] <= 127)]
