"""Symbolic measures on hand-made part music whose answers are known, and the CLI on a tiny score-roll data set."""

import json

import numpy as np
import pretty_midi
import pytest

from common.config import load_config
from common.errors import ParameterError
from evaluation import symbolic
from evaluation.symbolic import (
    analyse_key,
    has_semitone_clash,
    measure_set,
    parallel_motions,
    pitch_class_distance,
    pitch_class_histogram,
    sounding_pitches,
    struck_semitone_clashes,
    voices_by_rank,
)
from preprocessing.config import PreprocessConfig
from preprocessing.pipeline import PreprocessingPipeline


def chords(*columns, length=4):
    """Notes of block chords: each column a tuple of pitches, ``length`` steps each, one after the other."""
    return np.array([(p, k * length, (k + 1) * length) for k, column in enumerate(columns) for p in column])


def motions(*columns):
    ranks = [voices_by_rank(np.sort(np.asarray(c))[::-1]) for c in columns]
    return parallel_motions(ranks)


# --- Voices and parallels ------------------------------------------------------------------


def test_rank_voices():
    assert voices_by_rank(np.array([72, 67, 64, 48])) == {"soprano": 72, "alto": 67, "tenor": 64, "bass": 48}
    assert voices_by_rank(np.array([72, 64, 48])) == {"soprano": 72, "alto": 64, "bass": 48}
    assert voices_by_rank(np.array([72, 48])) == {"soprano": 72, "bass": 48}
    assert voices_by_rank(np.array([79, 72, 67, 64, 48])) == {"soprano": 79, "alto": 72, "tenor": 64, "bass": 48}


@pytest.mark.parametrize(
    "before, after, fifths, octaves, moving",
    [
        ((72, 65), (74, 67), 1, 0, 1),  # C5/F4 -> D5/G4: a parallel fifth, both up
        ((72, 65), (70, 63), 1, 0, 1),  # ... both down
        ((72, 65), (86, 67), 1, 0, 1),  # a fifth to a twelfth in similar motion: compound, counted
        ((72, 65), (74, 55), 0, 0, 1),  # a fifth to a twelfth in contrary motion: not parallel
        ((72, 65), (74, 65), 0, 0, 0),  # oblique: the lower voice holds, no moving pair
        ((72, 60), (74, 62), 0, 1, 1),  # parallel octaves
        ((72, 48), (74, 50), 0, 1, 1),  # parallel double octaves
        ((72, 60), (76, 69), 0, 0, 1),  # octave to fourth: similar motion, no parallel
        ((72, 66), (74, 67), 0, 0, 1),  # a diminished fifth to a perfect fifth: 6 semitones, not counted
    ],
)
def test_parallel_fifths_and_octaves_are_counted_and_contrary_motion_is_not(before, after, fifths, octaves, moving):
    counts = motions(before, after)
    assert (counts["parallel_fifths"], counts["parallel_octaves"], counts["moving_pairs"]) == (fifths, octaves, moving)


def test_every_voice_pair_is_checked():
    # all four up a step: octaves S-T, S-B, T-B; fifths A-T, A-B (a twelfth); S-A a fourth
    counts = motions((72, 67, 60, 48), (74, 69, 62, 50))
    assert counts == {"moving_pairs": 6, "parallel_fifths": 2, "parallel_octaves": 3}


def test_parallels_agree_with_music21_on_white_key_voicings():
    from music21 import note, voiceLeading

    white = [p for p in range(48, 84) if p % 12 in (0, 2, 4, 5, 7, 9, 11)]
    rng = np.random.default_rng(0)
    found = {"fifths": 0, "octaves": 0}
    for _ in range(400):
        # a voice pair, then both voices moved by the same number of scale steps, or anywhere
        j, i = sorted(rng.choice(np.arange(2, len(white) - 2), 2, replace=False))
        shift = int(rng.choice([-2, -1, 1, 2]))
        a1, b1 = white[i], white[j]
        a2, b2 = (white[i + shift], white[j + shift]) if rng.random() < 0.7 else (
            white[rng.integers(len(white))], white[rng.integers(len(white))])
        if a2 <= b2 or a1 == a2 or b1 == b2:
            continue
        ours = parallel_motions([{"soprano": a1, "bass": b1}, {"soprano": a2, "bass": b2}])
        quartet = voiceLeading.VoiceLeadingQuartet(note.Note(int(a1)), note.Note(int(a2)), note.Note(int(b1)),
                                                   note.Note(int(b2)))
        fifth = quartet.parallelMotion("P5", allowOctaveDisplacement=True)
        octave = quartet.parallelMotion("P8", allowOctaveDisplacement=True)
        assert (ours["parallel_fifths"], ours["parallel_octaves"]) == (int(fifth), int(octave)), (a1, a2, b1, b2)
        found["fifths"] += fifth
        found["octaves"] += octave
    assert found["fifths"] > 10 and found["octaves"] > 10  # the cases were there to be found


# --- Set measures ---------------------------------------------------------------------------


def test_measures_of_a_known_chorale_fragment():
    # four voices in whole beats at 120 bpm: I - V - I in C, bass and soprano in contrary motion
    notes = chords((72, 67, 64, 48), (71, 67, 62, 55), (72, 67, 64, 48), length=4)
    result = measure_set([(notes, 16)], steps_per_quarter=4, tempo_bpm=120.0)
    assert result["notes_per_second"]["mean"] == pytest.approx(12 / 2.0)  # 12 notes in 16 sixteenths = 2 s
    assert result["voices_mean"] == 4.0 and result["voices_share"][4] == 0.75 and result["voices_share"][0] == 0.25
    assert result["voice_ranges"]["bass"]["min"] == 48 and result["voice_ranges"]["bass"]["max"] == 55
    assert result["voice_ranges"]["soprano"] == {"p5": 71.0, "p95": 72.0, "min": 71, "max": 72}
    assert result["parallel_fifths_share"] == 0.0 and result["parallel_octaves_share"] == 0.0
    assert result["semitone_clash_share"] == 0.0  # B and D of the V chord clash with nothing
    assert result["moving_pairs"] == 6  # S-B, S-T, T-B, each twice
    assert analyse_key(notes, 4)[0] == "C major" and result["key_correlation_mean"] > 0.6


def test_semitone_clashes_are_a_share_of_the_steps_with_two_or_more_pitches():
    assert has_semitone_clash([72, 71]) and has_semitone_clash([71, 60]) and has_semitone_clash([73, 60, 48])
    assert not has_semitone_clash([72, 67, 64, 48]) and not has_semitone_clash([62, 60]) and not has_semitone_clash([60])
    # C major, then B against C (a major seventh), then a lone note, which is not a chord step
    notes = np.array([[72, 0, 4], [64, 0, 4], [48, 0, 8], [59, 4, 8], [67, 8, 12]])
    result = measure_set([(notes, 12)], keys=False)
    assert result["semitone_clash_share"] == pytest.approx(0.5)  # 4 of the 8 steps with 2+ pitches
    assert measure_set([(np.array([[60, 0, 4]]), 4)], keys=False)["semitone_clash_share"] == 0.0


def test_struck_clashes_count_only_semitones_that_start_together():
    # B against a held C (a passing note) is not struck; C#5 with C4 (a minor ninth) and E with F are
    held = np.array([[72, 0, 8], [71, 4, 8]])
    assert struck_semitone_clashes(held) == 0
    struck = np.array([[73, 0, 4], [60, 0, 4], [64, 8, 12], [65, 8, 12], [67, 8, 12], [62, 12, 16]])
    assert struck_semitone_clashes(struck) == 2
    assert struck_semitone_clashes(np.array([[72, 0, 4], [67, 0, 4], [64, 0, 4], [48, 0, 4]])) == 0
    result = measure_set([(held, 8), (struck, 16)], keys=False)
    assert result["struck_clashes_per_100_notes"] == pytest.approx(100 * 2 / 8)
    assert measure_set([(np.zeros((0, 3), int), 4)], keys=False)["struck_clashes_per_100_notes"] == 0.0


def test_parallel_fifths_in_a_set_are_a_share_of_the_moving_pairs():
    notes = chords((72, 65), (74, 67), (76, 69))  # fifths moving up twice
    result = measure_set([(notes, 12)], keys=False)
    assert result["parallel_fifths_share"] == 1.0 and result["moving_pairs"] == 2
    assert result["key_consistent_share"] is None


def test_pitch_class_histogram_and_distance():
    c_major = chords((60, 64, 67))
    histogram = pitch_class_histogram([(c_major, 4)])
    assert histogram[[0, 4, 7]].tolist() == pytest.approx([1 / 3] * 3) and histogram.sum() == pytest.approx(1.0)
    assert pitch_class_distance(histogram, histogram) == 0.0
    f_sharp = pitch_class_histogram([(chords((66, 70, 73)), 4)])
    assert pitch_class_distance(histogram, f_sharp) == pytest.approx(1.0)  # disjoint: the largest distance
    with pytest.raises(ParameterError, match="Received: reference="):
        pitch_class_distance(histogram, np.zeros(12))


def test_sounding_pitches_cut_notes_to_the_clip():
    sounding = sounding_pitches(np.array([[60, 0, 8], [64, 2, 3]]), 4)
    assert [s.tolist() for s in sounding] == [[60], [60], [64, 60], [60]]


def test_an_empty_set_is_refused():
    with pytest.raises(ParameterError, match="Received: clips=\\[\\]"):
        measure_set([])


# --- The CLI --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def roll_data(tmp_path_factory):
    root = tmp_path_factory.mktemp("symbolic")
    (root / "midi").mkdir()
    for i in range(6):
        midi = pretty_midi.PrettyMIDI()
        part = pretty_midi.Instrument(program=19)
        for k in range(4):  # quarter-note chords, 2 s: one clip
            root_pitch = 48 + (i * 5 + k * 7) % 12
            part.notes += [pretty_midi.Note(90, root_pitch + s, 0.5 * k, 0.5 * k + 0.5) for s in (0, 7, 16, 24)]
        midi.instruments.append(part)
        midi.write(str(root / "midi" / f"piece{i}.mid"))
    config = load_config(PreprocessConfig, None, dict(
        source="folder", input_dir=str(root / "midi"), output_dir=str(root / "data"), representation="score_roll",
        clip_duration_s=2.0, validation_fraction=0.0, test_fraction=0.0, num_workers=1))  # fmt: skip
    PreprocessingPipeline(config).run(progress=False)
    return root


def test_cli_measures_a_split_and_a_midi_folder(roll_data, tmp_path, capsys):
    out = tmp_path / "m.json"
    argv = ["--data", str(roll_data / "data"), "--sets", "train", "--midi", f"mine={roll_data / 'midi'}",
            "--midi", f"two={roll_data / 'midi' / 'piece[01].mid'}", "--json", str(out)]
    assert symbolic.main(argv) == 0
    printed = capsys.readouterr().out
    assert "| measure | train (n=" in printed and "mine (n=6)" in printed and "two (n=2)" in printed
    assert "parallel fifths" in printed and "semitone clashes" in printed
    results = json.loads(out.read_text())["results"]
    assert results["train"]["pitch_class_distance"] == 0.0  # the reference itself
    # the files are the train clips: read from MIDI or decoded from the data set, they measure the same
    assert results["mine"] == results["train"]
    # their chords (root, fifth, tenth, double octave) move in parallel: fifths and octaves abound
    assert results["mine"]["parallel_fifths_share"] > 0.1 and results["mine"]["voices_mean"] == pytest.approx(4.0)


def test_a_voice_rolls_midi_files_are_read_without_the_parts_of_silent_voices(tmp_path):
    from preprocessing.note_grid import notes_to_roll
    from preprocessing.score_roll import ScoreRollTransform

    transform = ScoreRollTransform(voices=["Soprano", "Alto", "Tenor", "Bass"])
    values = np.zeros((48, 16, 8), np.float32)
    values[..., 0:2] = notes_to_roll(np.array([[72, 0, 8], [74, 8, 16]]), 16, 36, 83)
    values[..., 6:8] = notes_to_roll(np.array([[48, 0, 16]]), 16, 36, 83)  # alto and tenor silent
    transform.write_midi(values, tmp_path / "generated_00.mid")
    with pytest.raises(ParameterError, match="no parts named 'Alto'"):
        transform.notes(tmp_path / "generated_00.mid")  # the voices are looked up by name...
    [(notes, n_steps)] = symbolic.midi_clips(tmp_path, transform, 16)  # ... but not here
    assert notes.tolist() == [[48, 0, 16], [72, 0, 8], [74, 8, 16]] and n_steps == 16


def test_cli_bad_input_exits_2(tmp_path, capsys):
    assert symbolic.main(["--data", str(tmp_path), "--sets", "test", "--no-keys"]) == 2
    assert "Received:" in capsys.readouterr().err
