"""Tests for preprocessing.piano_roll (PianoRollTransform: MIDI to roll, roll to MIDI and audio)."""

import json

import numpy as np
import pretty_midi
import pytest

from common.errors import ParameterError
from preprocessing.piano_roll import BINARY_VELOCITY, PianoRollTransform

SAMPLE_RATE = 16000
FPS = 62.5  # hop 256 samples, frame t starts at t * 16 ms


def make_midi(notes, program=0, is_drum=False, midi=None):
    """A PrettyMIDI with one instrument holding ``notes`` as (pitch, start_s, end_s, velocity)."""
    midi = pretty_midi.PrettyMIDI() if midi is None else midi
    instrument = pretty_midi.Instrument(program=program, is_drum=is_drum)
    instrument.notes = [pretty_midi.Note(velocity=v, pitch=p, start=s, end=e) for p, s, e, v in notes]
    midi.instruments.append(instrument)
    return midi


NOTES = [(60, 0.0, 0.48, 90), (64, 0.16, 0.64, 64), (67, 0.32, 0.8, 127), (72, 0.8, 0.96, 30)]


def test_roll_holds_the_notes_at_their_pitches_and_frames():
    transform = PianoRollTransform(SAMPLE_RATE, frames_per_second=FPS)
    roll = transform.extract_midi(make_midi(NOTES))
    assert roll.dtype == np.float32
    assert roll.shape == (128, 60)  # the last note ends at 0.96 s = frame 60
    expected = np.zeros((128, 60), np.float32)
    for pitch, start, end, velocity in NOTES:
        expected[pitch, round(start * FPS) : round(end * FPS)] = velocity / 127
    np.testing.assert_array_equal(roll, expected)
    binary = PianoRollTransform(SAMPLE_RATE, frames_per_second=FPS, mode="binary").extract(make_midi(NOTES))
    np.testing.assert_array_equal(binary, (expected > 0).astype(np.float32))


def test_drums_excluded_instruments_merged_by_max_short_notes_kept():
    transform = PianoRollTransform(SAMPLE_RATE, frames_per_second=FPS)
    midi = make_midi([(60, 0.0, 0.32, 50)])
    make_midi([(60, 0.16, 0.48, 100), (62, 0.1, 0.101, 80)], program=40, midi=midi)  # overlaps; a 1 ms note
    make_midi([(36, 0.0, 0.48, 127)], is_drum=True, midi=midi)
    roll = transform.extract_midi(midi)
    # max of the two; frame 9, before the second note's onset, left empty (separate_repeats)
    np.testing.assert_array_equal(roll[60, :30], np.float32([50 / 127] * 9 + [0] + [100 / 127] * 20))
    assert np.count_nonzero(roll[62]) == 1  # rounded to frame 6, kept as one frame
    assert not roll[36].any()


def test_offset_n_frames_and_pitch_range():
    transform = PianoRollTransform(SAMPLE_RATE, frames_per_second=FPS, min_pitch=60, max_pitch=67)
    roll = transform.extract_midi(make_midi(NOTES), offset_s=0.4, n_frames=8)
    assert roll.shape == (8, 8) and transform.n_freq_bins == 8
    np.testing.assert_array_equal(roll[0], np.float32([90 / 127] * 5 + [0] * 3))  # pitch 60, ends at 0.48 s
    np.testing.assert_array_equal(roll[4], np.float32([64 / 127] * 8))  # pitch 64, started before offset_s
    np.testing.assert_array_equal(roll[7], np.float32([1.0] * 8))  # pitch 67
    assert not roll[[1, 2, 3, 5, 6]].any()
    assert transform.frames_for(48000) == 187 and transform.hop_length == 256
    assert PianoRollTransform(min_pitch=21, max_pitch=108).n_freq_bins == 88  # the piano's keys


@pytest.mark.parametrize("mode", ["velocity", "binary"])
def test_roll_midi_roll_round_trip(mode, tmp_path):
    transform = PianoRollTransform(SAMPLE_RATE, frames_per_second=FPS, mode=mode)
    roll = transform.extract_midi(make_midi(NOTES))
    midi = transform.to_midi(roll)
    notes = midi.instruments[0].notes
    assert [n.pitch for n in notes] == [p for p, *_ in NOTES] and midi.instruments[0].program == 19
    velocities = [v for *_, v in NOTES] if mode == "velocity" else [BINARY_VELOCITY] * len(NOTES)
    assert [n.velocity for n in notes] == velocities
    np.testing.assert_array_equal(transform.extract_midi(midi, n_frames=roll.shape[1]), roll)
    path = transform.write_midi(roll, tmp_path / "roll.mid")  # through a file: ticks, not seconds
    assert sorted(p.name for p in tmp_path.iterdir()) == ["roll.mid"]
    np.testing.assert_array_equal(transform.extract_midi(path, n_frames=roll.shape[1]), roll)


@pytest.mark.parametrize("separate_repeats, n_notes", [(True, 3), (False, 1)])
def test_repeated_notes_stay_separate(separate_repeats, n_notes):
    transform = PianoRollTransform(SAMPLE_RATE, frames_per_second=FPS, separate_repeats=separate_repeats)
    roll = transform.extract_midi(make_midi([(60, 0.0, 0.32, 90), (60, 0.32, 0.64, 90), (60, 0.64, 0.8, 90)]))
    assert (roll[60, [19, 39]] == 0).all() == separate_repeats and roll[60, 49] > 0
    notes = transform.to_midi(roll).instruments[0].notes
    assert len(notes) == n_notes and notes[0].start == 0.0 and notes[-1].end == 0.8
    if separate_repeats:
        assert [(n.start, n.end) for n in notes] == [(0.0, 19 / FPS), (0.32, 39 / FPS), (0.64, 0.8)]
        np.testing.assert_array_equal(transform.extract_midi(transform.to_midi(roll), n_frames=50), roll)


def test_to_midi_threshold_and_run_mean():
    transform = PianoRollTransform(SAMPLE_RATE, frames_per_second=FPS)
    assert transform.threshold == 0.1 and PianoRollTransform(mode="binary").threshold == 0.5
    roll = np.zeros((128, 10), np.float32)
    roll[50, 1:5] = [0.2, 0.4, 0.6, 0.8]
    roll[50, 6:8] = 0.05  # below the threshold
    notes = transform.to_midi(roll).instruments[0].notes
    assert [(n.pitch, n.start, n.end, n.velocity) for n in notes] == [(50, 1 / FPS, 5 / FPS, 64)]
    assert len(transform.to_midi(roll, threshold=0.5).instruments[0].notes) == 1
    assert transform.to_midi(roll, threshold=0.5).instruments[0].notes[0].start == 3 / FPS


def test_rendered_audio_length_and_pitch():
    transform = PianoRollTransform(SAMPLE_RATE, frames_per_second=FPS, program=0)  # piano: the fundamental is loudest
    roll = np.zeros((128, 32), np.float32)
    roll[69, 2:30] = 0.8  # A4, 440 Hz
    audio = transform.invert(roll)  # rendering is deterministic: no iterations, no seed
    assert audio.dtype == np.float32 and audio.shape == (32 * 256,)
    assert 0.5 < np.max(np.abs(audio)) <= 0.9
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(audio.size)))
    peak_hz = np.fft.rfftfreq(audio.size, 1 / SAMPLE_RATE)[np.argmax(spectrum)]
    assert abs(peak_hz - 440.0) < 10.0
    assert transform.invert(roll, length=5000).shape == (5000,)
    np.testing.assert_array_equal(transform.invert(np.zeros((128, 8))), np.zeros(8 * 256, np.float32))


def test_config_round_trip_through_json():
    transform = PianoRollTransform(22050, frames_per_second=43.06640625, mode="binary", min_pitch=24, max_pitch=119,
                                   threshold=0.3, program=52)
    assert transform.hop_length == 512 and transform.n_freq_bins == 96
    config = json.loads(json.dumps(transform.get_config()))
    rebuilt = PianoRollTransform.from_config(config)
    assert rebuilt.get_config() == transform.get_config()
    assert repr(rebuilt) == repr(transform) and repr(rebuilt).startswith("PianoRollTransform(sample_rate=22050,")
    assert PianoRollTransform.from_config(PianoRollTransform().get_config()).threshold == 0.1
    with pytest.raises(ParameterError, match="Received: config="):
        PianoRollTransform.from_config({**config, "hop_length": 512})


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"frames_per_second": 60}, "frames_per_second=60"),  # 16000 / 60 = 266.67 samples
        ({"frames_per_second": 0}, "frames_per_second=0"),
        ({"sample_rate": 4000}, "sample_rate=4000"),
        ({"mode": "onset"}, "mode='onset'"),
        ({"min_pitch": 21, "max_pitch": 107}, "max_pitch=107"),  # 87 rows, not a multiple of 8
        ({"min_pitch": 60, "max_pitch": 60}, "max_pitch=60"),
        ({"threshold": 0}, "threshold=0"),
        ({"program": 128}, "program=128"),
        ({"soundfont": 3}, "soundfont=3"),
        ({"separate_repeats": 1}, "separate_repeats=1"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ParameterError, match=f"Received: {match}"):
        PianoRollTransform(**kwargs)


def test_bad_input(tmp_path):
    transform = PianoRollTransform(SAMPLE_RATE, frames_per_second=FPS)
    garbage = tmp_path / "broken.mid"
    garbage.write_bytes(b"MThd this is not a MIDI file")
    with pytest.raises(ParameterError, match="Cannot parse the MIDI.*broken.mid"):
        transform.extract_midi(garbage)
    with pytest.raises(ParameterError, match="not found.*missing.mid"):
        transform.extract_midi(tmp_path / "missing.mid")
    with pytest.raises(ParameterError, match="pass n_frames"):
        transform.extract_midi(make_midi([]))
    assert not transform.extract_midi(make_midi([]), n_frames=4).any()
    with pytest.raises(ParameterError, match="Received: offset_s=-1"):
        transform.extract_midi(make_midi(NOTES), offset_s=-1)
    with pytest.raises(ParameterError, match=r"128 rows.*Received: roll.shape=\(127, 10\)"):
        transform.to_midi(np.zeros((127, 10)))
    with pytest.raises(ParameterError, match=r"Received: roll.shape=\(128,\)"):
        transform.invert(np.zeros(128))
    roll = np.zeros((128, 10))
    roll[5, 5] = np.nan
    with pytest.raises(ParameterError, match="Received: roll=<non-finite>"):
        transform.invert(roll)
    with pytest.raises(ParameterError, match="Received: threshold=2"):
        transform.to_midi(np.zeros((128, 10)), threshold=2)
