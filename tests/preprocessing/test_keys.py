"""Key names, the key-normalising shift and the transposition of notes (preprocessing.keys)."""

import numpy as np
import pytest

from common.errors import ParameterError
from preprocessing.keys import normalising_shift, parse_key, transpose_notes

PITCH_CLASS_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")


@pytest.mark.parametrize(
    "key, shift",
    [
        ("G major", 5),  # up a fourth to C, not down a fifth (-7 is outside [-6, 5])
        ("D minor", -5),  # down a fourth to A
        ("F# major", -6),  # a tritone from C either way: the rule takes -6
        ("Gb major", -6),  # the same pitch class, spelled with a flat
        ("C minor", -3),
        ("Bb major", 2),
        ("B- major", 2),  # music21's flat sign, as its analysis spells keys
        ("E minor", 5),
        ("C major", 0),
        ("A minor", 0),
        ("F", -5),  # a capital tonic alone: major
        ("g", 2),  # a lower-case tonic alone: minor (music21's convention)
    ],
)
def test_the_shift_takes_the_tonic_to_c_or_a_within_minus_6_and_5(key, shift):
    assert normalising_shift(key) == shift


@pytest.mark.parametrize("mode, target", [("major", 0), ("minor", 9)])
def test_every_key_lands_on_its_modes_target_with_a_shift_in_range(mode, target):
    for tonic, name in enumerate(PITCH_CLASS_NAMES):
        shift = normalising_shift(f"{name} {mode}")
        assert -6 <= shift <= 5 and (tonic + shift) % 12 == target, name
    assert parse_key(f"Eb {mode}") == (3, mode)


@pytest.mark.parametrize("key", ["H major", "D dorian", "", "G minor major", "G# sharp", None])
def test_unknown_key_names_are_named(key):
    with pytest.raises(ParameterError, match=f"Received: key={key!r}"):
        parse_key(key)


def test_transposed_notes_keep_their_steps_and_leave_out_pitches_beyond_midi():
    notes = np.array([[60, 0, 4], [125, 2, 3], [64, 4, 8]])
    assert transpose_notes(notes, 5).tolist() == [[65, 0, 4], [69, 4, 8]]  # 130 is no MIDI pitch
    assert transpose_notes(notes, -3).tolist() == [[57, 0, 4], [122, 2, 3], [61, 4, 8]]
    with pytest.raises(ParameterError, match="Received: semitones=200"):
        transpose_notes(notes, 200)
