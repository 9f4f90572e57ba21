"""Tests for preprocessing.midi: reading MIDI (long files, unreadable ones) and rendering it with FluidSynth.

FluidSynth is a hard requirement of the rendering, so these tests fail (not
skip) without it.
"""

import io
import sys
from pathlib import Path

import numpy as np
import pretty_midi
import pytest

from common.errors import ParameterError
from preprocessing import midi
from preprocessing.midi import check_peak_dbfs, load_midi, midi_to_audio, parse_midi, resolve_soundfont

SAMPLE_RATE = 8000


def midi_bytes(notes, resolution=220, program=0, is_drum=False):
    """A Standard MIDI File holding ``notes``, (pitch, start_s, end_s), velocity 100, at 120 bpm."""
    score = pretty_midi.PrettyMIDI(resolution=resolution)
    instrument = pretty_midi.Instrument(program=program, is_drum=is_drum)
    instrument.notes = [pretty_midi.Note(velocity=100, pitch=p, start=s, end=e) for p, s, e in notes]
    score.instruments.append(instrument)
    buffer = io.BytesIO()
    score.write(buffer)
    return buffer.getvalue()


CHORD = [(60, 0.0, 1.0), (64, 0.0, 1.0), (67, 0.5, 1.5)]


# --- Reading ---------------------------------------------------------------------


def test_parse_midi_reads_files_past_pretty_midis_max_tick(monkeypatch):
    # music21's 10080 ticks per quarter: a note ending at 500 s is at tick 10,080,000 > 1e7
    data = midi_bytes([(60, 499.0, 500.0)], resolution=10080)
    monkeypatch.setattr(pretty_midi.pretty_midi, "MAX_TICK", 1e7)
    with pytest.raises(ValueError, match="largest tick of 10080002"):
        pretty_midi.PrettyMIDI(io.BytesIO(data))  # what parse_midi works around
    parsed = parse_midi(data)
    assert parsed.get_end_time() == pytest.approx(500.0)
    # a higher limit set elsewhere is kept, never lowered
    monkeypatch.setattr(pretty_midi.pretty_midi, "MAX_TICK", 1e12)
    parse_midi(data)
    assert pretty_midi.pretty_midi.MAX_TICK == 1e12


def test_load_midi_from_path_and_bytes(tmp_path):
    data = midi_bytes(CHORD)
    path = tmp_path / "chord.mid"
    path.write_bytes(data)
    for source in (path, str(path), data, bytearray(data)):
        notes = load_midi(source).instruments[0].notes
        assert [(n.pitch, round(n.start, 3), round(n.end, 3)) for n in notes] == CHORD


def test_load_midi_reports_unreadable_and_missing_files(tmp_path):
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"not a midi file")
    with pytest.raises(ParameterError, match=r"Cannot parse the MIDI \(OSError: .*\)\. Received: path='.*bad\.mid'"):
        load_midi(bad)
    with pytest.raises(ParameterError, match="Cannot parse the MIDI.*Received: path='<bytes>'"):
        load_midi(b"")
    with pytest.raises(ParameterError, match="MIDI file not found. Received: path='.*missing.mid'"):
        load_midi(tmp_path / "missing.mid")
    with pytest.raises(ParameterError, match="Received: midi=int"):
        load_midi(3)


# --- Checks and the SoundFont ----------------------------------------------------------


@pytest.mark.parametrize("value", [0.0, -1, -60.5])
def test_check_peak_dbfs_accepts_levels_up_to_0(value):
    assert check_peak_dbfs(value) == float(value)


@pytest.mark.parametrize("value", [0.5, float("nan"), float("-inf"), "loud", None])
def test_check_peak_dbfs_rejects(value):
    with pytest.raises(ParameterError, match="Received: peak_dbfs="):
        check_peak_dbfs(value)


def test_resolve_soundfont(tmp_path, monkeypatch):
    font = tmp_path / "font.sf2"
    font.write_bytes(b"RIFF")
    assert resolve_soundfont(font) == font
    assert resolve_soundfont(str(font)) == font
    bundled = Path(pretty_midi.__file__).parent / "TimGM6mb.sf2"
    assert resolve_soundfont() == (midi.SYSTEM_SOUNDFONT if midi.SYSTEM_SOUNDFONT.is_file() else bundled)
    monkeypatch.setattr(midi, "SYSTEM_SOUNDFONT", tmp_path / "absent.sf2")
    assert resolve_soundfont() == bundled and bundled.is_file()
    with pytest.raises(ParameterError, match="Received: soundfont='/no/such.sf2'"):
        resolve_soundfont("/no/such.sf2")


# --- Rendering ------------------------------------------------------------------------


def test_midi_to_audio_is_normalised_trimmed_and_deterministic():
    audio = midi_to_audio(midi_bytes(CHORD), sample_rate=SAMPLE_RATE, peak_dbfs=-6.0)
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert float(np.max(np.abs(audio))) == pytest.approx(10 ** (-6 / 20), abs=1e-3)
    # the notes end at 1.5 s; pretty_midi renders 1 s more, and the tail below -60 dB is cut
    assert 1.5 * SAMPLE_RATE < audio.size <= 2.5 * SAMPLE_RATE
    assert audio[-1] == 0.0  # the fade-out's last gain is 0
    # the sound lasts: most 100 ms frames during the notes are far from silence
    frames = audio[: int(1.5 * SAMPLE_RATE)].reshape(-1, SAMPLE_RATE // 10)
    assert np.mean(np.sqrt(np.mean(frames**2, axis=1)) > 0.01) > 0.8
    np.testing.assert_array_equal(midi_to_audio(midi_bytes(CHORD), sample_rate=SAMPLE_RATE, peak_dbfs=-6.0), audio)


def test_midi_to_audio_renders_every_part_on_the_program():
    # a drum part rendered as drums would sound nothing like the same notes on an organ
    organ = midi_to_audio(midi_bytes(CHORD, program=19), sample_rate=SAMPLE_RATE)
    drums = midi_to_audio(midi_bytes(CHORD, program=0, is_drum=True), sample_rate=SAMPLE_RATE)
    np.testing.assert_array_equal(drums, organ)
    piano = midi_to_audio(midi_bytes(CHORD, program=19), sample_rate=SAMPLE_RATE, program=0)
    assert piano.shape != organ.shape or not np.array_equal(piano, organ)


def test_midi_to_audio_refuses_midi_longer_than_max_duration_s():
    data = midi_bytes([(60, 0.0, 3.0)])
    with pytest.raises(ParameterError, match=r"lasts 3\.0 s, more than max_duration_s=2\. Received: piece='long'"):
        midi_to_audio(data, sample_rate=SAMPLE_RATE, max_duration_s=2.0, piece="long")
    assert midi_to_audio(data, sample_rate=SAMPLE_RATE, max_duration_s=3.0).size > 3 * SAMPLE_RATE


def test_midi_to_audio_reports_unreadable_and_empty_midi():
    with pytest.raises(ParameterError, match="Cannot parse the MIDI"):
        midi_to_audio(b"not a midi file", sample_rate=SAMPLE_RATE)
    with pytest.raises(ParameterError, match="The MIDI has no notes. Received: piece='empty'"):
        midi_to_audio(midi_bytes([]), sample_rate=SAMPLE_RATE, piece="empty")


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"sample_rate": 7999}, "sample_rate"),
        ({"sample_rate": 16000.0}, "sample_rate"),
        ({"program": -1}, "program"),
        ({"program": True}, "program"),
        ({"peak_dbfs": 1.0}, "peak_dbfs"),
        ({"max_duration_s": 0}, "max_duration_s"),
        ({"max_duration_s": float("inf")}, "max_duration_s"),
        ({"soundfont": "/no/such.sf2"}, "soundfont"),
    ],
)
def test_midi_to_audio_rejects_bad_arguments(kwargs, name):
    with pytest.raises(ParameterError, match=f"Received: {name}="):
        midi_to_audio(midi_bytes(CHORD), **kwargs)


def test_midi_to_audio_without_fluidsynth_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "fluidsynth", None)  # makes `import fluidsynth` fail
    with pytest.raises(ParameterError, match="apt-get install fluidsynth.*Received: fluidsynth=ModuleNotFoundError"):
        midi_to_audio(midi_bytes(CHORD), sample_rate=SAMPLE_RATE)
