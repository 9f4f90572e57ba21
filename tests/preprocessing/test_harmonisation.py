"""Inpainting masks on the score roll: a melody harmonised below itself, masked bars, and bad input named."""

import io

import numpy as np
import pretty_midi
import pytest

from common.errors import ParameterError
from preprocessing.harmonisation import MAX_MELODY_STEPS, bar_span_mask, check_mask, harmonisation_mask, melody_notes
from preprocessing.midi import parse_midi
from preprocessing.note_grid import ONSET, SUSTAIN, notes_to_roll

LOW, HIGH = 36, 83  # the score roll's default rows


def midi_bytes(parts):
    """A MIDI file's bytes (480 ticks per quarter, 120 bpm): ``{part name: [(pitch, start step, end step)]}`` in sixteenths."""
    midi = pretty_midi.PrettyMIDI(resolution=480)
    for name, notes in parts.items():
        part = pretty_midi.Instrument(program=19, name=name)
        part.notes = [pretty_midi.Note(90, p, midi.tick_to_time(120 * s), midi.tick_to_time(120 * e)) for p, s, e in notes]
        midi.instruments.append(part)
    buffer = io.BytesIO()
    midi.write(buffer)
    return buffer.getvalue()


MELODY = np.array([[72, 0, 4], [72, 4, 8], [74, 8, 12], [71, 14, 16]])  # a repeated C5, D5, a rest, B4


def test_the_melody_and_everything_above_it_are_known_and_the_rows_below_generated():
    known, keep = harmonisation_mask(MELODY, LOW, HIGH, n_steps=16)
    assert known.shape == keep.shape == (48, 16, 2) and known.dtype == keep.dtype == np.float32
    c5, d5, b4 = 72 - LOW, 74 - LOW, 71 - LOW
    # the melody's cells are known and on, its repeated note two onsets
    assert known[c5, :8, SUSTAIN].all() and known[c5, :8, ONSET].tolist() == [1, 0, 0, 0, 1, 0, 0, 0]
    assert np.array_equal(known, notes_to_roll(MELODY, 16, LOW, HIGH))  # nothing else is on
    # at each step: known from the melody's row up, generated below
    for step, row in [(0, c5), (7, c5), (8, d5), (15, b4)]:
        assert keep[row:, step].all() and not keep[:row, step].any()
    # where the melody rests (steps 12-13), known at and above its lowest pitch (B4)
    assert keep[b4:, 12:14].all() and not keep[:b4, 12:14].any()
    assert not known[:, 12:14].any()


def test_in_a_voice_roll_the_first_voices_channels_are_known_everywhere_and_the_others_generated():
    known, keep = harmonisation_mask(MELODY, LOW, HIGH, n_steps=16, n_voices=4)
    assert known.shape == keep.shape == (48, 16, 8)
    assert np.array_equal(known[..., :2], notes_to_roll(MELODY, 16, LOW, HIGH)) and not known[..., 2:].any()
    assert keep[..., :2].all() and not keep[..., 2:].any()  # every row and step of channels 0-1, nothing else
    # a melody on the lowest row, which leaves nothing below it in a merged roll, leaves three voices here
    assert not harmonisation_mask(np.array([[36, 0, 16]]), LOW, HIGH, n_voices=4)[1][..., 2:].any()
    with pytest.raises(ParameterError, match="Received: n_voices=1"):
        harmonisation_mask(MELODY, LOW, HIGH, n_voices=1)


def test_a_voice_rolls_bars_are_regenerated_on_every_channel():
    roll = np.ones((48, 32, 8), np.float32)
    known, keep = bar_span_mask(roll, 1, 1)
    assert keep.shape == (48, 32, 8) and not keep[:, 16:].any() and keep[:, :16].all()
    with pytest.raises(ParameterError, match=r"2 \* n_voices\). Received: values.shape=\(48, 32, 3\)"):
        bar_span_mask(np.ones((48, 32, 3)), 1, 1)


def test_the_mask_is_what_the_inpainting_sampler_takes():
    known, keep = harmonisation_mask(MELODY, LOW, HIGH)
    assert keep.shape[1] == 16  # n_steps None: the melody's end
    assert set(np.unique(keep)) == {0.0, 1.0} and np.all(known * (1 - keep) == 0)  # known values only where known


@pytest.mark.parametrize(
    "melody, kwargs, received",
    [
        ([[90, 0, 4]], {}, "pitch=90"),  # above the model's range
        ([[30, 0, 4]], {}, "pitch=30"),  # below it
        ([[60, 0, 4], [62, 2, 6]], {}, "melody="),  # overlapping: not one voice
        ([[60, 0, 40]], {"n_steps": 32}, "melody_end=40"),  # longer than the roll
        ([[60, 0, 4]], {"n_steps": MAX_MELODY_STEPS + 1}, f"n_steps={MAX_MELODY_STEPS + 1}"),  # longer than the maximum
        ([[60, 0, 4]], {"n_steps": 64, "max_steps": 32}, "n_steps=64"),
        (np.zeros((0, 3), int), {}, r"melody.shape=\(0, 3\)"),  # no note
        ([[36, 0, 16]], {}, "generated_fraction=0.0"),  # on the lowest row throughout: nothing to generate
    ],
)
def test_bad_melodies_are_one_error_naming_the_value(melody, kwargs, received):
    with pytest.raises(ParameterError, match=f"Received: {received}"):
        harmonisation_mask(np.asarray(melody), LOW, HIGH, **kwargs)


def test_the_melody_is_read_from_a_midi_part():
    data = midi_bytes({"Soprano": [(72, 0, 4), (72, 4, 8)], "Bass": [(48, 0, 8)]})
    assert melody_notes(data, part="soprano").tolist() == [[72, 0, 4], [72, 4, 8]]
    assert melody_notes(data, part=1).tolist() == [[48, 0, 8]]
    assert melody_notes(midi_bytes({"Flute": [(60, 0, 2)]})).tolist() == [[60, 0, 2]]  # the only part
    with pytest.raises(ParameterError, match=r"\['Soprano', 'Bass'\].*Received: part=None"):
        melody_notes(data)
    with pytest.raises(ParameterError, match="Received: part='Alto'"):
        melody_notes(data, part="Alto")
    with pytest.raises(ParameterError, match="overlap at step 2"):
        melody_notes(midi_bytes({"Chords": [(60, 0, 4), (64, 2, 4)]}))


def test_a_chorales_soprano_is_a_melody_the_mask_takes():
    from preprocessing.recipes.chorales import list_chorales, score_to_midi

    source = next(s for s in list_chorales() if s.piece == "bwv26.6")
    melody = melody_notes(parse_midi(score_to_midi(source.path)), part="Soprano")
    assert len(melody) > 20 and np.all(melody[1:, 1] >= melody[:-1, 2])
    known, keep = harmonisation_mask(melody, LOW, HIGH)
    assert 0.3 < 1 - keep.mean() < 0.9  # most of the rows below a soprano are to be generated


def test_an_unparseable_midi_file_is_named(tmp_path):
    (tmp_path / "broken.mid").write_bytes(b"MThd\x00\x00")
    with pytest.raises(ParameterError, match="Cannot parse the MIDI.*Received: path=.*broken.mid"):
        melody_notes(tmp_path / "broken.mid")


def test_a_bar_span_is_generated_on_every_row_and_the_rest_known():
    values = notes_to_roll(np.array([[60, 0, 64], [64, 0, 64]]), 64, LOW, HIGH)
    known, keep = bar_span_mask(values, start_bar=1, n_bars=2)
    assert not keep[:, 16:48].any() and keep[:, :16].all() and keep[:, 48:].all()
    assert not known[:, 16:48].any() and np.array_equal(known[:, :16], values[:, :16])
    _, keep = bar_span_mask(values, start_bar=3, n_bars=2, steps_per_bar=12, first_bar_step=4)  # 3/4 after a pickup
    assert np.flatnonzero(~keep[0, :, 0].astype(bool)).tolist() == list(range(40, 64))  # cut to the roll


@pytest.mark.parametrize(
    "kwargs, received",
    [
        ({"start_bar": 4, "n_bars": 1}, "start_bar=4"),  # after the roll: covers nothing
        ({"start_bar": -2, "n_bars": 1}, "start_bar=-2"),  # before it
        ({"start_bar": 0, "n_bars": 4}, "n_bars=4"),  # all of it: covers everything
        ({"start_bar": 0, "n_bars": 0}, "n_bars=0"),
    ],
)
def test_a_bar_span_that_covers_nothing_or_everything_is_refused(kwargs, received):
    with pytest.raises(ParameterError, match=f"Received: {received}"):
        bar_span_mask(np.zeros((48, 64, 2), np.float32), **kwargs)


def test_check_mask_refuses_empty_full_and_non_binary_masks():
    assert check_mask(np.array([[1, 0]])).dtype == np.float32
    with pytest.raises(ParameterError, match="covers nothing.*generated_fraction=0.0"):
        check_mask(np.ones((4, 4, 2)))
    with pytest.raises(ParameterError, match="covers everything.*generated_fraction=1.0"):
        check_mask(np.zeros((4, 4, 2)))
    with pytest.raises(ParameterError, match="only 0"):
        check_mask(np.full((4, 4, 2), 0.5))
    with pytest.raises(ParameterError, match=r"keep.shape=\(4, 4\)"):
        check_mask(np.ones((4, 4)), shape=(4, 4, 2))
