"""The score roll: notes on the grid of the MIDI ticks, onsets apart from sustain, the decoding rule, bar lines."""

import io
from pathlib import Path

import numpy as np
import pretty_midi
import pytest

from common.config import load_config
from common.errors import ParameterError
from preprocessing.config import PreprocessConfig
from preprocessing.midi import parse_midi
from preprocessing.note_grid import (
    ONSET,
    SUSTAIN,
    bar_lines,
    grid_notes,
    merge_notes,
    monophonic_notes,
    notes_to_roll,
    one_row_per_step,
    roll_to_notes,
)
from preprocessing.pipeline import PreprocessingPipeline
from preprocessing.representations import build_transform
from preprocessing.score_roll import ScoreRollTransform
from preprocessing.sources import SourceRecord

FULL = dict(lowest_pitch=0, highest_pitch=127)  # every MIDI pitch: round trips without dropped notes
SATB = ["Soprano", "Alto", "Tenor", "Bass"]  # the chorales' part names


def midi_of(notes_in_ticks, resolution=480, tempi=((0, 120.0),), meters=((0, 4, 4),)):
    """A PrettyMIDI with ``(pitch, start tick, end tick)`` notes in one part, the given tempo and meter changes."""
    midi = pretty_midi.PrettyMIDI(resolution=resolution, initial_tempo=tempi[0][1])
    if len(tempi) > 1:  # pretty_midi sets tempo changes through its tick scales
        midi._tick_scales = [(tick, 60.0 / (bpm * resolution)) for tick, bpm in tempi]
        midi._update_tick_to_time(max(end for _, _, end in notes_in_ticks) + 1)
    part = pretty_midi.Instrument(program=19)
    for pitch, start, end in notes_in_ticks:
        part.notes.append(pretty_midi.Note(90, pitch, midi.tick_to_time(start), midi.tick_to_time(end)))
    midi.instruments.append(part)
    midi.time_signature_changes = [pretty_midi.TimeSignature(n, d, midi.tick_to_time(t)) for t, n, d in meters]
    buffer = io.BytesIO()
    midi.write(buffer)
    return parse_midi(buffer.getvalue())  # as read from a file


def canonical(notes):
    """What a roll holds of ``notes``, computed apart from the roll: per pitch, one note per distinct start,
    running over the union of the notes' steps until the next start of that pitch."""
    out = []
    for pitch in np.unique(notes[:, 0]):
        same = notes[notes[:, 0] == pitch]
        sounding = np.zeros(same[:, 2].max() + 1, bool)
        for _, start, end in same:
            sounding[start:end] = True
        starts = np.unique(same[:, 1])
        for k, start in enumerate(starts):
            end = start + 1
            stop = starts[k + 1] if k + 1 < len(starts) else sounding.size
            while end < stop and sounding[end]:
                end += 1
            out.append((pitch, start, end))
    return np.array(sorted(out, key=lambda n: (n[1], n[0], n[2])), np.int64).reshape(-1, 3)


@pytest.fixture(scope="module")
def chorale_midis():
    """music21's MIDI of three chorales: bwv347 (pickup, repeat), bwv10.7 (no pickup), bwv269 (3/4, pickup)."""
    from preprocessing.recipes.chorales import list_chorales, score_to_midi

    chosen = {source.piece: source for source in list_chorales()}
    return {piece: parse_midi(score_to_midi(chosen[piece].path)) for piece in ("bwv347", "bwv10.7", "bwv269")}


# --- The grid comes from the ticks ------------------------------------------------------


def test_the_grid_is_read_from_ticks_not_seconds():
    # the tempo halves at tick 960: in seconds the third note is at 2.0 s, on the grid at sixteenth 12
    midi = midi_of([(60, 0, 480), (62, 480, 960), (64, 1440, 1920)], tempi=((0, 120.0), (960, 60.0)))
    assert midi.instruments[0].notes[2].start == pytest.approx(2.0)
    assert grid_notes(midi, 4).tolist() == [[60, 0, 4], [62, 4, 8], [64, 12, 16]]
    assert grid_notes(midi, 2).tolist() == [[60, 0, 2], [62, 2, 4], [64, 6, 8]]  # eighths


def test_off_grid_ticks_round_to_the_nearest_step_halves_up_and_keep_one_step():
    # 120 ticks per sixteenth: tick 59 rounds down, tick 60 (half a step) up; a 32nd keeps one step
    midi = midi_of([(60, 59, 300), (62, 60, 300), (64, 480, 540)])
    assert grid_notes(midi, 4).tolist() == [[60, 0, 3], [62, 1, 3], [64, 4, 5]]


def test_chorales_round_trip_exactly_up_to_what_a_roll_cannot_hold(chorale_midis):
    transform = ScoreRollTransform(**FULL)
    for piece, midi in chorale_midis.items():
        notes = transform.notes(midi)
        # music21 writes 10080 ticks per quarter: every chorale note lies on the sixteenth grid
        starts = [midi.time_to_tick(n.start) for part in midi.instruments for n in part.notes]
        assert midi.resolution == 10080 and all(tick % 2520 == 0 for tick in starts), piece
        assert sorted(notes[:, 1].tolist()) == sorted(tick // 2520 for tick in starts)
        decoded = transform.decode(transform.extract(midi))
        assert np.array_equal(decoded, canonical(notes)), piece
        # what changed: unisons (two parts attack one pitch) merge, and a same-pitch overlap is cut
        kept = {tuple(n) for n in decoded.tolist()}
        lost = [n for n in notes.tolist() if tuple(n) not in kept]
        attacks = {(p, s) for p, s, _ in decoded.tolist()}
        assert all((p, s) in attacks for p, s, _ in lost), piece  # no onset is ever lost
        assert len(decoded) == len(attacks) and len(lost) < 0.05 * len(notes), piece


def test_the_default_rows_drop_only_notes_outside_36_83(chorale_midis):
    transform = ScoreRollTransform()
    assert transform.n_freq_bins == 48 and (transform.lowest_pitch, transform.highest_pitch) == (36, 83)
    midi = chorale_midis["bwv10.7"]
    notes = transform.notes(midi)
    roll = transform.extract(midi)
    assert roll.shape == (48, notes[:, 2].max(), 2) and roll.dtype == np.float32
    assert np.array_equal(transform.extract_midi(midi, n_frames=40), roll[:, :40])
    assert np.array_equal(transform.decode(roll), canonical(notes[(notes[:, 0] >= 36) & (notes[:, 0] <= 83)]))


# --- The two channels ---------------------------------------------------------------------


def test_a_repeated_note_is_two_onsets_under_one_sustain_and_comes_back_as_two_notes():
    notes = np.array([[60, 0, 4], [60, 4, 8], [64, 2, 6]])
    roll = notes_to_roll(notes, 10, 60, 67)
    assert roll[0, :, SUSTAIN].tolist() == [1] * 8 + [0, 0]
    assert roll[0, :, ONSET].tolist() == [1, 0, 0, 0, 1, 0, 0, 0, 0, 0]
    assert roll[4, :, ONSET].sum() == 1 and roll[4, 2:6, SUSTAIN].all()
    assert roll_to_notes(roll, 60).tolist() == [[60, 0, 4], [64, 2, 6], [60, 4, 8]]


def test_a_note_held_into_a_clip_shows_as_sustain_from_its_first_column():
    roll = notes_to_roll(np.array([[60, 0, 6], [62, 3, 5]]), 4, 60, 67, offset_steps=2)
    assert roll[0, :, SUSTAIN].tolist() == [1, 1, 1, 1] and roll[0, :, ONSET].sum() == 0
    assert roll[2, :, ONSET].tolist() == [0, 1, 0, 0]


# --- The decoding rule --------------------------------------------------------------------


def cells(onsets, sustain):
    """A one-pitch roll from two strings of digits 0-9 (tenths)."""
    values = np.array([[int(c) / 10 for c in row] for row in (onsets, sustain)], np.float32)
    return values.T[None]  # (1, n_steps, 2)


@pytest.mark.parametrize(
    "onsets, sustain, options, expected",
    [
        ("9000", "9990", {}, [(0, 3)]),  # an onset, held for two more steps
        ("9090", "9999", {}, [(0, 2), (2, 4)]),  # a new onset under unbroken sustain: a repeated note
        ("0900", "0000", {}, [(1, 2)]),  # an onset without sustain: one step
        ("0000", "9900", {}, [(0, 2)]),  # sustain from step 0 without onset: held over from before the roll
        ("0000", "0990", {}, []),  # sustain without onset after a gap: not a note
        ("9000", "9099", {}, [(0, 1)]),  # the sustain broke: the later run has no onset
        ("0000", "0990", {"orphan_min_steps": 2}, [(1, 3)]),  # ...unless at least orphan_min_steps long
        ("0000", "0990", {"orphan_min_steps": 3}, []),
        ("0090", "0999", {"orphan_min_steps": 1}, [(1, 2), (2, 4)]),  # an orphan run, then an onset in it
        ("06000", "06660", {}, [(1, 4)]),  # 0.6 is on at the default thresholds 0.5
        ("06000", "06660", {"onset_threshold": 0.7}, []),  # no onset: an orphan run
        ("06000", "06660", {"sustain_threshold": 0.7}, [(1, 2)]),
        ("6000", "6660", {"onset_threshold": 0.7}, [(0, 3)]),  # ...but at step 0 it is held over
    ],
)
def test_the_decoding_rule(onsets, sustain, options, expected):
    notes = roll_to_notes(cells(onsets, sustain), 60, **options)
    assert [(start, end) for _, start, end in notes.tolist()] == expected
    assert all(pitch == 60 for pitch in notes[:, 0])


def test_the_transform_decodes_with_its_own_thresholds_unless_told():
    transform = ScoreRollTransform(onset_threshold=0.7, sustain_threshold=0.2, orphan_min_steps=3, **FULL)
    values = np.zeros((128, 5, 2), np.float32)
    values[60] = cells("06000", "06600")[0]  # onset below 0.7: an orphan run of 2 < 3 steps
    values[64] = cells("00000", "00333")[0]  # sustain 0.3 >= 0.2 for 3 steps: a note by the orphan rule
    assert transform.decode(values).tolist() == [[64, 2, 5]]
    assert transform.decode(values, onset_threshold=0.5).tolist() == [[60, 1, 3], [64, 2, 5]]
    assert transform.decode(values, onset_threshold=0.5, sustain_threshold=0.5).tolist() == [[60, 1, 3]]


# --- Bar lines ------------------------------------------------------------------------------


def test_bar_lines_follow_the_meter_and_the_pickup():
    midi = midi_of([(60, 0, 480)])
    assert bar_lines(midi, 40, 4).tolist() == [0, 16, 32]
    assert bar_lines(midi, 40, 4, pickup_quarters=1.0).tolist() == [-12, 4, 20, 36]
    # 3/4 from bar 3 (tick 3840 = step 32); a restated 3/4 at step 38 (mid-bar) is ignored
    midi = midi_of([(60, 0, 480)], meters=((0, 4, 4), (3840, 3, 4), (4560, 3, 4)))
    assert bar_lines(midi, 60, 4).tolist() == [0, 16, 32, 44, 56]
    with pytest.raises(ParameterError, match="Received: pickup_quarters=4.0"):
        bar_lines(midi_of([(60, 0, 480)]), 40, 4, pickup_quarters=4.0)


def test_chorale_bar_lines_with_the_recipes_pickup(chorale_midis):
    transform = ScoreRollTransform()
    midi = chorale_midis["bwv269"]  # 3/4, one-beat pickup
    assert transform.bar_lines(midi, 100, 1.0).tolist()[:4] == [-8, 4, 16, 28]
    assert transform.bar_lines(chorale_midis["bwv10.7"], 100).tolist()[:3] == [0, 16, 32]


# --- The transform ------------------------------------------------------------------------


def test_to_midi_writes_the_decoded_notes_on_the_grid_at_the_tempo(tmp_path):
    transform = ScoreRollTransform(tempo_bpm=96.0, program=52, **FULL)
    notes = np.array([[60, 0, 4], [60, 4, 8], [67, 2, 3]])
    values = notes_to_roll(notes, 8, 0, 127)
    midi = parse_midi(transform.write_midi(values, tmp_path / "a.mid").read_bytes())
    assert midi.instruments[0].program == 52 and midi.get_tempo_changes()[1].tolist() == [96.0]
    assert sorted(note.start for note in midi.instruments[0].notes) == pytest.approx([0.0, 0.3125, 0.625])
    assert np.array_equal(grid_notes(midi, 4), roll_to_notes(values, 0))


def test_steps_and_seconds_at_the_tempo():
    transform = ScoreRollTransform(sample_rate=16000)
    assert (transform.hop_length, transform.step_s) == (2000, 0.125)  # 120 bpm, sixteenths
    assert transform.frames_for(128000) == 64 and transform.samples_for(64) == 128000
    assert transform.values_shape(64) == (48, 64, 2)
    assert ScoreRollTransform(sample_rate=8000, tempo_bpm=100.0, steps_per_quarter=2).hop_length == 2400


@pytest.mark.parametrize(
    "arguments, name",
    [
        ({"lowest_pitch": 36, "highest_pitch": 80}, "highest_pitch=80"),  # 45 rows: not a multiple of 8
        ({"tempo_bpm": 7.0}, "tempo_bpm=7.0"),  # a hop of 34285.7 samples
        ({"steps_per_quarter": 0}, "steps_per_quarter=0"),
        ({"onset_threshold": 0.0}, "onset_threshold=0.0"),
        ({"orphan_min_steps": 0}, "orphan_min_steps=0"),
    ],
)
def test_bad_arguments_are_named(arguments, name):
    with pytest.raises(ParameterError, match=f"Received: {name}"):
        ScoreRollTransform(**arguments)


def test_bad_midi_and_bad_values_are_named(tmp_path):
    transform = ScoreRollTransform()
    (tmp_path / "bad.mid").write_bytes(b"MThd not really")
    with pytest.raises(ParameterError, match="Cannot parse the MIDI.*Received: path=.*bad.mid"):
        transform.extract(tmp_path / "bad.mid")
    with pytest.raises(ParameterError, match=r"Received: values.shape=\(48, 8\)"):
        transform.decode(np.zeros((48, 8)))
    with pytest.raises(ParameterError, match="non-finite"):
        transform.decode(np.full((48, 8, 2), np.nan))
    with pytest.raises(ParameterError, match="no note in \\[36, 83\\]"):
        transform.extract(midi_of([(100, 0, 480)]))


# --- Key normalisation --------------------------------------------------------------------

G_MAJOR_CADENCE = [  # I IV V I in G major, a chord a half note (960 ticks), the top voice up to B5 (83)
    (pitch, 960 * k, 960 * (k + 1))
    for k, chord in enumerate([(43, 59, 62, 67), (48, 60, 64, 72), (50, 62, 66, 81), (43, 59, 67, 83)])
    for pitch in chord
]


def test_a_key_normalised_roll_is_the_piece_transposed_and_drops_what_leaves_the_rows():
    transform = ScoreRollTransform(key_normalisation=True)
    midi = midi_of(G_MAJOR_CADENCE)
    notes = transform.notes(midi)
    assert transform.transposition_for(notes, "G major") == 5  # G to C, up a fourth
    assert transform.transposition_for(notes) == 5  # music21's analysis of the notes: G major
    assert ScoreRollTransform().transposition_for(notes, "G major") == 0  # the option off: never moved
    roll = transform.extract(midi)
    moved = [(pitch + 5, start, end) for pitch, start, end in G_MAJOR_CADENCE]
    assert np.array_equal(roll, ScoreRollTransform().extract(midi_of(moved), n_frames=roll.shape[1]))
    assert roll[:, :, SUSTAIN].sum() == 14 * 8  # A5 + 5 = 86 and B5 + 5 = 88 are above the rows (83): dropped
    assert transform.notes_moved_out(notes, 5) == 2 and transform.notes_moved_out(notes, -6) == 0
    assert np.array_equal(transform.extract(midi, transposition=0), ScoreRollTransform().extract(midi))


def test_decoding_with_a_transposition_writes_the_notes_in_that_key(tmp_path):
    transform = ScoreRollTransform(key_normalisation=True)
    values = notes_to_roll(np.array([[60, 0, 4], [64, 0, 4], [67, 4, 8]]), 8, 36, 83)
    assert transform.decode(values, transposition=-5).tolist() == [[55, 0, 4], [59, 0, 4], [62, 4, 8]]
    midi = parse_midi(transform.write_midi(values, tmp_path / "a.mid", transposition=7).read_bytes())
    assert grid_notes(midi, 4)[:, 0].tolist() == [67, 71, 74]
    assert transform.inverse_name(transposition=7).endswith("transposed +7 semitones")
    with pytest.raises(ParameterError, match="Received: transposition=200"):
        transform.decode(values, transposition=200)


def test_key_normalisation_is_in_the_saved_config(tmp_path):
    from preprocessing.transform_io import load_transform, save_transform

    transform = ScoreRollTransform(key_normalisation=True, lowest_pitch=40, highest_pitch=87)
    assert transform.get_config()["key_normalisation"] is True
    loaded = load_transform(save_transform(transform, tmp_path / "transform.json"))
    assert loaded.key_normalisation is True and loaded.get_config() == transform.get_config()
    older = {k: v for k, v in ScoreRollTransform().get_config().items() if k != "key_normalisation"}
    assert ScoreRollTransform.from_config(older).key_normalisation is False  # a transform.json from before the option
    with pytest.raises(ParameterError, match="Received: key_normalisation='yes'"):
        ScoreRollTransform(key_normalisation="yes")


# --- Through the pipeline -----------------------------------------------------------------


def test_the_pipeline_starts_clips_on_bar_lines_after_the_pickup(tmp_path, chorale_midis):
    (tmp_path / "midi").mkdir()
    path = tmp_path / "midi" / "bwv347.mid"
    chorale_midis["bwv347"].write(str(path))
    config = load_config(PreprocessConfig, None, dict(
        source="folder", input_dir=str(tmp_path / "midi"), output_dir=str(tmp_path / "out"),
        representation="score_roll", clip_duration_s=8.0, clip_hop_s=4.0, num_workers=1))  # fmt: skip
    pipeline = PreprocessingPipeline(config)
    record = SourceRecord(path=path, piece="bwv347", split="train", clip_prefix="bwv347", midi_path=path,
                          pickup_quarters=1.0)
    rows = pipeline.process_file(record)
    assert [row["offset_s"] for row in rows[:3]] == [-1.5, 2.5, 6.5]  # steps -12, 20, 52: bar lines
    first = np.load(tmp_path / "out" / rows[0]["path"])
    assert first.shape == (48, 64, 2) and not first[:, :12].any() and first[:, 12, ONSET].sum() == 4
    whole = pipeline.transform.extract(path)
    assert np.array_equal(np.load(tmp_path / "out" / rows[1]["path"]), whole[:, 20:84])
    # without a pickup the bars count from tick 0
    unknown = pipeline.process_file(SourceRecord(path=path, piece="x", split="train", clip_prefix="x", midi_path=path))
    assert [row["offset_s"] for row in unknown[:2]] == [0.0, 4.0]


def test_bar_clip_ranges_follow_the_meter_and_keep_a_long_enough_tail(tmp_path):
    config = load_config(PreprocessConfig, None, dict(source="folder", input_dir=str(tmp_path), output_dir=str(
        tmp_path / "o"), representation="score_roll", min_tail_fraction=0.5))
    pipeline = PreprocessingPipeline(config)
    # 3/4 bars of 12 steps, hop 32: the next bar line at least 32 steps on
    bars = np.arange(-8, 200, 12)
    assert pipeline.bar_clip_ranges(bars, 150, 64, 32) == [(-8, 56), (28, 92), (64, 128), (100, 150)]
    assert pipeline.bar_clip_ranges(bars, 95, 64, 32) == [(-8, 56), (28, 92)]  # a tail of 31 < 32 steps: dropped
    assert pipeline.bar_clip_ranges(bars, 96, 64, 32)[-1] == (64, 96)


def test_the_shipped_config_builds_48_by_64_by_2_clips():
    config = load_config(PreprocessConfig, "configs/chorales_score_roll.yaml")
    transform = build_transform(config)
    assert config.n_frames == 64 and transform.values_shape(config.n_frames) == (48, 64, 2)
    assert transform.frames_for(config.clip_hop_samples) == 32


def test_the_pipeline_normalises_each_piece_by_its_records_key_and_writes_the_shift(tmp_path):
    from preprocessing.dataset_folder import DatasetFolder

    (tmp_path / "midi").mkdir()
    path = tmp_path / "midi" / "cadence.mid"
    midi_of(G_MAJOR_CADENCE).write(str(path))
    pieces = {"as_g": "G major", "as_d": "D minor", "analysed": None}  # None: music21's analysis (G major)
    records = [SourceRecord(path=path, piece=piece, split="train", clip_prefix=piece, midi_path=path, key=key)
               for piece, key in pieces.items()]
    for normalised in (True, False):
        out = tmp_path / f"out_{normalised}"
        config = load_config(PreprocessConfig, None, dict(
            source="folder", input_dir=str(tmp_path / "midi"), output_dir=str(out), representation="score_roll",
            clip_duration_s=2.0, num_workers=1, **{"score_roll.key_normalisation": normalised}))  # fmt: skip
        report = PreprocessingPipeline(config).run(records=records, progress=False)
        folder = DatasetFolder(out)
        rows = {row["piece"]: row for row in folder.rows[::-1]}  # each piece's first clip (steps 0-15)
        if not normalised:
            assert [row["transposition"] for row in rows.values()] == [None] * 3 and report.notes_moved_out == 0
            assert folder.transform.key_normalisation is False
            continue
        assert {piece: row["transposition"] for piece, row in rows.items()} == {"as_g": 5, "as_d": -5, "analysed": 5}
        assert report.notes_moved_out == 4 and folder.transform.key_normalisation is True  # A5 and B5, up 5, twice
        plain = ScoreRollTransform().extract(path)[:, :16]
        for piece, shift in (("as_g", 5), ("as_d", -5)):
            clip = folder.read_clip(folder.clip_path(rows[piece]["path"]))
            # row r of the piece is row r + shift of the clip
            assert np.array_equal(clip[max(0, shift): 48 + min(0, shift)], plain[max(0, -shift): 48 - max(0, shift)])
            assert clip.any() and not np.array_equal(clip, plain)


# --- Voices kept apart --------------------------------------------------------------------


def parts_midi(parts, resolution=480):
    """A PrettyMIDI of named parts ``{name: [(pitch, start tick, end tick)]}`` (120 bpm), as read from a file."""
    midi = pretty_midi.PrettyMIDI(resolution=resolution, initial_tempo=120.0)
    for name, notes in parts.items():
        part = pretty_midi.Instrument(program=19, name=name)
        part.notes = [pretty_midi.Note(90, p, midi.tick_to_time(s), midi.tick_to_time(e)) for p, s, e in notes]
        midi.instruments.append(part)
    buffer = io.BytesIO()
    midi.write(buffer)
    return parse_midi(buffer.getvalue())


def test_chorales_round_trip_voice_by_voice(chorale_midis):
    transform = ScoreRollTransform(voices=SATB, **FULL)
    for piece, midi in chorale_midis.items():
        parts = {part.name.lower(): part for part in midi.instruments}
        voices = transform.voice_notes(midi)
        for name, notes in zip(SATB, voices):
            # each of these chorales' voices is one line already: its notes as the MIDI has them
            assert np.array_equal(notes, grid_notes(midi, 4, parts=[parts[name.lower()]])), (piece, name)
        values = transform.extract(midi)
        assert values.shape == (128, max(n[:, 2].max() for n in voices), 8) and values.dtype == np.float32
        decoded = transform.decode_voices(values)
        assert all(np.array_equal(a, b) for a, b in zip(decoded, voices)), piece  # exactly, unisons too
        assert np.array_equal(transform.decode(values), merge_notes(voices))
        merged = ScoreRollTransform(**FULL).extract(midi)  # the same notes as the merged roll, apart
        assert np.array_equal(values[..., 1::2].max(axis=2), merged[..., SUSTAIN]), piece


def test_a_voices_channels_are_the_merged_roll_of_that_part_alone(chorale_midis):
    midi = chorale_midis["bwv10.7"]
    values = ScoreRollTransform(voices=SATB).extract(midi)
    for v, name in enumerate(SATB):
        part = [p for p in midi.instruments if p.name == name]
        alone = notes_to_roll(grid_notes(midi, 4, parts=part), values.shape[1], 36, 83)
        np.testing.assert_array_equal(values[..., 2 * v : 2 * v + 2], alone)
    assert np.array_equal(ScoreRollTransform(voices=["bass", "SOPRANO"]).extract(midi), values[..., [6, 7, 0, 1]])


def test_the_decoder_keeps_one_pitch_per_step_in_each_voice_the_larger():
    transform = ScoreRollTransform(voices=["Soprano", "Bass"], **FULL)
    values = np.zeros((128, 4, 4), np.float32)
    values[72, 0:4, 1], values[72, 0, 0] = 0.9, 0.9  # soprano: C5 held for 4 steps...
    values[76, 0:2, 1], values[76, 0, 0] = 0.6, 0.7  # ...and a weaker E5 beside it for 2
    values[48, 0:4, 3], values[48, 0, 2] = 0.6, 0.8  # bass: C3, weaker than ...
    values[43, 2:4, 3], values[43, 2, 2] = 0.9, 0.9  # ... a G2 from step 2, which ends it
    soprano, bass = transform.decode_voices(values)
    assert soprano.tolist() == [[72, 0, 4]] and bass.tolist() == [[48, 0, 2], [43, 2, 4]]
    assert transform.decode(values).tolist() == [[48, 0, 2], [72, 0, 4], [43, 2, 4]]
    # the merged roll of the same two pairs decodes both rows: two pitches per step
    assert len(ScoreRollTransform(**FULL).decode(values[..., :2])) == 2
    # a column of one voice below the thresholds stays silent, whatever its largest row
    quiet = np.zeros((1, 3, 2), np.float32)
    quiet[0, :, 1] = [0.4, 0.4, 0.4]
    assert one_row_per_step(quiet).tolist() == quiet.tolist() and not len(roll_to_notes(quiet, 60))


def test_one_row_per_step_keeps_the_largest_onset_plus_sustain():
    roll = np.zeros((3, 2, 2), np.float32)
    roll[0, 0] = [0.0, 0.75]  # sustain 0.75 ...
    roll[1, 0] = [0.5, 0.5]  # ... loses to a new onset with less sustain: 1.0 > 0.75
    roll[2, 1] = [0.125, 0.25]
    kept = one_row_per_step(roll)
    assert kept[:, 0].tolist() == [[0, 0], [0.5, 0.5], [0, 0]] and kept[:, 1].tolist() == [[0, 0], [0, 0], [0.125, 0.25]]


@pytest.mark.parametrize(
    "keep_highest, expected",
    [
        (True, [[74, 0, 1], [72, 4, 6], [67, 6, 8]]),  # the chord's top note; the held C5 cut by the G4
        (False, [[71, 0, 4], [72, 4, 6], [67, 6, 8]]),  # the chord's lowest
    ],
)
def test_a_part_with_chords_is_made_one_voice(keep_highest, expected):
    notes = np.array([[71, 0, 4], [74, 0, 1], [72, 4, 8], [67, 6, 8]])
    assert monophonic_notes(notes, keep_highest).tolist() == expected
    line = np.array([[60, 0, 2], [62, 2, 4], [60, 4, 8]])
    assert np.array_equal(monophonic_notes(line), line)  # one voice already: unchanged


def test_upper_voices_keep_the_highest_of_a_chord_lower_voices_the_lowest():
    chord = [(60, 0, 480), (64, 0, 480)]
    midi = parts_midi({"Soprano": chord, "Alto": chord, "Tenor": chord, "Bass": chord})
    parts = ScoreRollTransform(voices=SATB).voice_notes(midi)
    assert [p[:, 0].tolist() for p in parts] == [[64], [64], [60], [60]]
    assert [p[:, 0].tolist() for p in ScoreRollTransform(voices=["Soprano", "Alto", "Tenor"]).voice_notes(midi)] == [
        [64], [64], [60]]  # three voices: the first two are the upper half


def test_a_file_without_a_voice_is_refused_naming_the_file_and_the_voice(tmp_path):
    path = tmp_path / "two_parts.mid"
    parts_midi({"Soprano": [(72, 0, 480)], "alto": [(67, 0, 480)], "Drums": [(60, 0, 480)]}).write(str(path))
    transform = ScoreRollTransform(voices=SATB)
    with pytest.raises(ParameterError, match=r"no parts named 'Tenor'.*Received: path='.*two_parts.mid'"):
        transform.extract(path)
    assert [len(p) for p in ScoreRollTransform(voices=["soprano", "ALTO"]).voice_notes(path)] == [1, 1]
    path = tmp_path / "twice.mid"
    parts_midi({"Soprano": [(72, 0, 480)], "soprano": [(74, 0, 480)]}).write(str(path))
    with pytest.raises(ParameterError, match=r"2 parts named 'Soprano'.*twice.mid"):
        ScoreRollTransform(voices=["Soprano"]).notes(path)


def test_the_pipeline_skips_a_file_without_a_voice_and_goes_on(tmp_path, chorale_midis):
    (tmp_path / "midi").mkdir()
    chorale_midis["bwv10.7"].write(str(tmp_path / "midi" / "bwv10.7.mid"))
    parts_midi({"Soprano": [(72, 0, 480 * 40)]}).write(str(tmp_path / "midi" / "solo.mid"))
    config = load_config(PreprocessConfig, None, dict(
        source="folder", input_dir=str(tmp_path / "midi"), output_dir=str(tmp_path / "out"),
        representation="score_roll", clip_duration_s=8.0, clip_hop_s=4.0, num_workers=1, validation_fraction=0.0,
        test_fraction=0.0, **{"score_roll.voices": SATB}))  # fmt: skip
    report = PreprocessingPipeline(config).run(progress=False)
    assert [(Path(path).name, reason) for path, reason in report.skipped] == [
        ("solo.mid", "The MIDI has no parts named 'Alto', a voice of the roll (voices ['Soprano', 'Alto', 'Tenor', "
                     "'Bass']; its parts: ['Soprano']).")]
    from preprocessing.dataset_folder import DatasetFolder

    folder = DatasetFolder(tmp_path / "out")
    assert folder.transform.voices == tuple(SATB) and len(folder.rows) > 5
    assert folder.read_clip(folder.clip_path(folder.rows[0]["path"])).shape == (48, 64, 8)


def test_to_midi_writes_a_part_per_voice_that_reads_back(tmp_path, chorale_midis):
    transform = ScoreRollTransform(voices=SATB, tempo_bpm=96.0)
    values = transform.extract(chorale_midis["bwv347"])
    midi = parse_midi(transform.write_midi(values, tmp_path / "a.mid", transposition=2).read_bytes())
    assert [(part.name, part.program) for part in midi.instruments] == [(name, 19) for name in SATB]
    written = transform.voice_notes(tmp_path / "a.mid")
    assert all(np.array_equal(a, b) for a, b in zip(written, transform.decode_voices(values, transposition=2)))
    values[..., 2:4] = 0  # a silent alto: a MIDI file keeps no empty part
    assert [part.name for part in transform.to_midi(values).instruments] == SATB
    assert [part.name for part in parse_midi(transform.write_midi(values, tmp_path / "b.mid").read_bytes()).instruments
            ] == ["Soprano", "Tenor", "Bass"]
    assert ScoreRollTransform().to_midi(values[..., :2]).instruments[0].name == "score roll"  # merged: one part


def test_key_normalisation_moves_every_voice():
    chords = [(43, 59, 62, 67), (48, 60, 64, 72), (50, 62, 66, 81), (43, 59, 67, 83)]  # G_MAJOR_CADENCE's, bass first
    midi = parts_midi({name: [(chord[3 - v], 960 * k, 960 * (k + 1)) for k, chord in enumerate(chords)]
                       for v, name in enumerate(SATB)})
    transform = ScoreRollTransform(voices=SATB, key_normalisation=True)
    assert transform.transposition_for(transform.notes(midi)) == 5  # music21's key of the voices: G major
    soprano, alto, tenor, bass = (p[:, 0].tolist() for p in transform.decode_voices(transform.extract(midi)))
    assert (soprano, alto, tenor, bass) == ([72, 77], [67, 69, 71, 72], [64, 65, 67, 64], [48, 53, 55, 48])  # A5, B5 out
    written = transform.decode_voices(transform.extract(midi), transposition=-5)
    assert [p[:, 0].tolist() for p in written] == [[67, 72], [62, 64, 66, 67], [59, 60, 62, 59], [43, 48, 50, 43]]


def test_voices_are_in_the_config_and_the_saved_transform(tmp_path):
    from preprocessing.transform_io import load_transform, save_transform

    config = load_config(PreprocessConfig, "configs/chorales_score_roll_voices.yaml")
    assert config.score_roll.voices == tuple(SATB) and config.output_dir == "data/chorales_score_roll_voices"
    transform = build_transform(config)
    assert transform.values_shape(config.n_frames) == (48, 64, 8) and transform.n_voices == 4
    loaded = load_transform(save_transform(transform, tmp_path / "transform.json"))
    assert loaded.voices == tuple(SATB) and loaded.get_config() == transform.get_config()
    assert loaded.get_config()["voices"] == SATB  # a JSON list
    merged = load_config(PreprocessConfig, "configs/chorales_score_roll.yaml")
    assert merged.score_roll.voices is None and build_transform(merged).n_channels == 2
    older = {k: v for k, v in ScoreRollTransform().get_config().items() if k != "voices"}
    assert ScoreRollTransform.from_config(older).voices is None  # a transform.json from before the option


def test_the_voice_roll_ddim_config_trains_on_that_data_set_from_scratch():
    from train.config import DiffusionTrainConfig

    data = load_config(PreprocessConfig, "configs/chorales_score_roll_voices.yaml")
    train = load_config(DiffusionTrainConfig, "configs/chorales_score_roll_voices_ddim.yaml")
    assert train.data_dir == data.output_dir and train.init_from is None and train.conditioning == "mask"
    assert "top_voice" in train.mask_kinds and train.run_dir != "saved_models/chorales_score_roll_ddim"


@pytest.mark.parametrize(
    "voices", [[], "Soprano", ["Soprano", "soprano"], ["Soprano", ""], ["Soprano", 3], [f"v{i}" for i in range(9)]]
)
def test_bad_voices_are_named(voices):
    with pytest.raises(ParameterError, match=r"Received: voices="):
        ScoreRollTransform(voices=voices)


def test_bad_voice_values_and_notes_are_named():
    transform = ScoreRollTransform(voices=SATB)
    with pytest.raises(ParameterError, match=r"\(48, n_steps >= 1, 8\). Received: values.shape=\(48, 8, 2\)"):
        transform.decode(np.zeros((48, 8, 2)))
    with pytest.raises(ParameterError, match="Received: voice_notes=1"):
        transform.notes_to_values([np.zeros((0, 3), np.int64)], 8)
