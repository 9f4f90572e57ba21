"""Tests for the chorales recipe (preprocessing/recipes/chorales/) and its CLI (preprocessing/chorales.py).

Split assignment, listing, score analysis, rendering a piece, the build and the
command line with resume.

FluidSynth is a hard requirement of the recipe, so these tests fail (not skip)
without it.
"""

import csv
import io
import json
import math
import os
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile

from common.errors import ParameterError
from common.time_limit import TimeLimitExceeded
from preprocessing.chorales import main
from preprocessing.midi import midi_to_audio
from preprocessing.recipes import chorales
from preprocessing.recipes.chorales import (
    ANALYSIS_COLUMNS,
    MANIFEST_COLUMNS,
    SPLITS,
    analyze_score,
    assign_split,
    build_chorales,
    list_chorales,
    render_piece,
)
from preprocessing.recipes.chorales import manifest
from preprocessing.recipes.chorales import render as chorale_render
from preprocessing.sources import CHORALES_ANALYSIS_COLUMNS


@pytest.fixture(scope="module")
def sources():
    return list_chorales()


def _read_csv(path):
    with open(path, newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        return header, [dict(zip(header, row)) for row in reader]


# --- Split assignment ---------------------------------------------------------


def test_assign_split_is_deterministic_and_seeded():
    pieces = [f"bwv{i}.{j}" for i in range(1, 60) for j in range(1, 4)]
    first = [assign_split(p, seed=0) for p in pieces]
    assert first == [assign_split(p, seed=0) for p in pieces]
    assert set(first) <= set(SPLITS)
    # Another seed moves some pieces (a fixed assignment would make the seed useless).
    assert first != [assign_split(p, seed=1) for p in pieces]


def test_assign_split_proportions():
    pieces = [f"piece{i}" for i in range(20000)]
    splits = [assign_split(p, seed=3, fractions=(0.8, 0.1, 0.1)) for p in pieces]
    shares = {s: splits.count(s) / len(pieces) for s in SPLITS}
    assert abs(shares["train"] - 0.8) < 0.015
    assert abs(shares["validation"] - 0.1) < 0.01
    assert abs(shares["test"] - 0.1) < 0.01


def test_assign_split_zero_fraction_is_never_used():
    splits = {assign_split(f"p{i}", fractions=(0.9, 0.1, 0.0)) for i in range(2000)}
    assert splits == {"train", "validation"}


@pytest.mark.parametrize(
    "fractions",
    [(0.5, 0.5), (0.8, 0.1, 0.2), (1.1, -0.05, -0.05), (math.nan, 0.5, 0.5), ("a", "b", "c"), None],
)
def test_assign_split_rejects_bad_fractions(fractions):
    with pytest.raises(ParameterError, match="Received: fractions="):
        assign_split("bwv26.6", fractions=fractions)


@pytest.mark.parametrize("piece", ["", None, 3])
def test_assign_split_rejects_bad_piece(piece):
    with pytest.raises(ParameterError, match="Received: piece="):
        assign_split(piece)


# --- Listing and rendering ------------------------------------------------------


def test_list_chorales_ids_are_unique_and_files_exist(sources):
    pieces = [s.piece for s in sources]
    assert len(pieces) == len(set(pieces)) > 300
    assert all(p.startswith("bwv") for p in pieces)
    assert all(s.path.is_file() and s.path.stem == s.piece for s in sources)
    # MusicXML is chosen over the Humdrum copy that music21 cannot expand.
    assert next(s for s in sources if s.piece == "bwv277").path.suffix == ".mxl"


def test_render_piece_gives_mono_audio(sources):
    source = sources[0]
    sample_rate = 8000
    audio = render_piece(source.piece, source.path, sample_rate=sample_rate)
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert np.all(np.isfinite(audio))
    peak = float(np.max(np.abs(audio)))
    assert peak == pytest.approx(10 ** (-1 / 20), abs=1e-3)
    rms = float(np.sqrt(np.mean(audio.astype(np.float64) ** 2)))
    assert rms > 0.02  # an organ chorale is dense: far from silence
    duration_s = audio.size / sample_rate
    assert 15 < duration_s < 180
    # Most 100 ms frames sound: the rendering is music, not a click and silence.
    frames = audio[: audio.size // 800 * 800].reshape(-1, 800)
    assert np.mean(np.sqrt(np.mean(frames**2, axis=1)) > 0.01) > 0.8


@pytest.mark.parametrize(
    "kwargs, name",
    [({"sample_rate": 0}, "sample_rate"), ({"program": 128}, "program"), ({"soundfont": "/no/such.sf2"}, "soundfont")],
)
def test_render_piece_rejects_bad_arguments(sources, kwargs, name):
    with pytest.raises(ParameterError, match=f"Received: {name}="):
        render_piece(sources[0].piece, sources[0].path, **kwargs)


def test_missing_fluidsynth_says_how_to_install(monkeypatch, sources):
    monkeypatch.setitem(sys.modules, "fluidsynth", None)  # makes `import fluidsynth` fail
    with pytest.raises(ParameterError, match="apt-get install fluidsynth"):
        midi_to_audio(chorales.score_to_midi(sources[0].path))


def test_failing_piece_is_skipped_and_reported(tmp_path, sources):
    bad = chorales.ChoraleSource(piece="broken", path=tmp_path / "missing.mxl")
    report = build_chorales(
        tmp_path / "out", sample_rate=8000, workers=1, sources=[bad, sources[2]], log=io.StringIO()
    )
    assert [row.piece for row in report.rows] == [sources[2].piece]
    assert [piece for piece, _ in report.failures] == ["broken"]
    header, rows = _read_csv(tmp_path / "out" / "failures.csv")
    assert header == ["piece", "reason"] and rows[0]["piece"] == "broken"
    assert "not found" in rows[0]["reason"]


# --- Score analysis ------------------------------------------------------------


def _score(parts, bpm=None):
    """A music21 score from ``parts``: lists of (pitch name, quarter lengths) in order."""
    from music21 import note, stream, tempo

    score = stream.Score()
    for i, notes in enumerate(parts):
        part = stream.Part()
        if bpm is not None and i == 0:
            part.append(tempo.MetronomeMark(number=bpm))
        for name, quarter_length in notes:
            part.append(note.Note(name, quarterLength=quarter_length))
        score.insert(0, part)
    return score


def _scale_and_cadence(scale, bass, bpm=None):
    """A two-part score: ``scale`` (pitch names) in quarter notes over a ``bass`` (tonic, dominant, tonic)."""
    tonic, dominant = bass
    return _score([[(p, 1) for p in scale], [(tonic, 4), (dominant, 3), (tonic, 1)]], bpm=bpm)


def test_analyze_score_finds_key_mode_tempo_and_parts():
    # C major: scale and a V-I bass; a minor: its raised leading tone G#.
    c_major = _scale_and_cadence(["C5", "D5", "E5", "F5", "G5", "A5", "B4", "C5"], ["C3", "G2"], bpm=88)
    found = analyze_score(c_major)
    assert (found.key, found.mode, found.tonic, found.tempo_bpm, found.n_parts) == ("C major", "major", "C", 88.0, 2)
    a_minor = _scale_and_cadence(["A4", "B4", "C5", "D5", "E5", "F5", "G#4", "A4"], ["A2", "E2"])
    found = analyze_score(a_minor)
    assert (found.key, found.tonic, found.tempo_bpm) == ("A minor", "A", chorales.DEFAULT_TEMPO_BPM)
    assert -1.0 <= found.correlation <= 1.0
    # flats are written with "b", not music21's "-"
    b_flat_major = _scale_and_cadence(["B-4", "C5", "D5", "E-5", "F5", "G5", "A5", "B-5"], ["B-2", "F2"])
    assert analyze_score(b_flat_major).key == "Bb major"


def test_analyze_score_rejects_missing_file_and_empty_score(tmp_path):
    with pytest.raises(ParameterError, match="Received: source="):
        analyze_score(tmp_path / "missing.mxl")
    with pytest.raises(ParameterError, match="no notes"):
        analyze_score(_score([[]]))


def test_chorale_keys_agree_with_their_final_bass_note(sources):
    # A cadence ends on the tonic in the bass in most chorales, so the analysed tonic
    # should mostly be the last bass note; a wrong key profile or tonic spelling fails this.
    from music21 import converter, pitch

    chosen = {s.piece: s for s in sources}
    pieces = ["bwv269", "bwv347", "bwv86.6", "bwv267", "bwv281", "bwv10.7", "bwv101.7", "bwv102.7"]
    agree = 0
    for piece in pieces:
        score = converter.parse(str(chosen[piece].path))
        found = analyze_score(score)
        last_bass = score.parts[-1].flatten().notes[-1].pitches[0]
        tonic = found.tonic[0] + found.tonic[1:].replace("b", "-")  # music21 writes flats as "-"
        agree += pitch.Pitch(tonic).pitchClass == last_bass.pitchClass
    assert agree >= 7
    assert analyze_score(chosen["bwv281"].path).tempo_bpm == 90.0  # its metronome mark, as rendered


def test_analyze_score_finds_the_pickup_the_midi_file_does_not_hold(sources):
    from music21 import converter, meter, note, stream

    chosen = {s.piece: s for s in sources}
    # bwv347 opens with a one-beat pickup in 4/4, bwv10.7 on a downbeat, bwv269 with one beat in 3/4
    assert analyze_score(chosen["bwv347"].path).pickup_quarters == 1.0
    assert analyze_score(chosen["bwv10.7"].path).pickup_quarters == 0.0
    assert analyze_score(converter.parse(str(chosen["bwv269"].path))).pickup_quarters == 1.0
    # a measure-less score has no bars, so no pickup; a made-up half-note pickup in 3/4 is found
    assert analyze_score(_score([[("C4", 1), ("D4", 1)]])).pickup_quarters == 0.0
    part = stream.Part()
    first = stream.Measure(number=0)
    first.append([meter.TimeSignature("3/4"), note.Note("G4", quarterLength=2)])
    first.padAsAnacrusis()
    part.append([first, stream.Measure([note.Note("C5", quarterLength=3)], number=1)])
    assert analyze_score(stream.Score([part])).pickup_quarters == 2.0


def test_kept_piece_whose_score_fails_to_parse_keeps_its_audio(tmp_path):
    (tmp_path / "wav").mkdir()
    (tmp_path / "midi").mkdir()
    soundfile.write(tmp_path / "wav" / "broken.wav", np.full(800, 0.1, np.float32), 8000)
    (tmp_path / "midi" / "broken.mid").write_bytes(b"MThd")
    (tmp_path / "broken.mxl").write_bytes(b"not a score")
    job = {
        "piece": "broken", "path": str(tmp_path / "broken.mxl"), "out_dir": str(tmp_path), "sample_rate": 8000,
        "program": 19, "soundfont": None, "peak_dbfs": -1.0, "max_duration_s": 600.0, "timeout_s": None,
        "overwrite": False,
    }  # fmt: skip
    result = chorales.render_job(job)
    assert result["status"] == "exists" and result["duration_s"] == pytest.approx(0.1)
    assert result["analysis"] == {} and result["analysis_error"]


def test_timeout_during_the_analysis_skips_the_piece(tmp_path, sources, monkeypatch):
    # the timeout's exception must not be taken for a failed analysis (and the piece rendered untimed)
    def time_is_up(score):
        raise TimeLimitExceeded(30.0)

    monkeypatch.setattr(chorale_render, "analyze_score", time_is_up)
    job = {
        "piece": sources[0].piece, "path": str(sources[0].path), "out_dir": str(tmp_path), "sample_rate": 8000,
        "program": 19, "soundfont": None, "peak_dbfs": -1.0, "max_duration_s": 600.0, "timeout_s": 30.0,
        "overwrite": False,
    }  # fmt: skip
    result = chorales.render_job(job)
    assert result["status"] == "failed" and result["reason"] == "timed out after 30 s"
    assert not (tmp_path / "wav" / f"{sources[0].piece}.wav").exists()


# --- The output folder -----------------------------------------------------------


def test_manifest_files_leave_a_failed_analysis_empty(tmp_path):
    assert (manifest.wav_path("bwv26.6"), manifest.midi_path("bwv26.6")) == ("wav/bwv26.6.wav", "midi/bwv26.6.mid")
    analysed = chorales.ManifestRow("a", "train", "wav/a.wav", "midi/a.mid", 1.5, 8000, "G minor", "minor", "G", 90.0, 4,
                                    1.0)
    unanalysed = chorales.ManifestRow("b", "test", "wav/b.wav", "midi/b.mid", 2.25, 8000)
    manifest.write_manifest(tmp_path, [analysed, unanalysed])
    manifest.write_failures(tmp_path, [])
    header, rows = _read_csv(tmp_path / "manifest.csv")
    assert tuple(header) == MANIFEST_COLUMNS
    assert [rows[0][c] for c in ANALYSIS_COLUMNS] == ["G minor", "minor", "G", "90.0", "4", "1.0"]
    assert [rows[1][c] for c in ANALYSIS_COLUMNS] == ["", "", "", "", "", ""]
    assert (rows[1]["duration_s"], rows[1]["sample_rate"]) == ("2.25", "8000")
    assert (tmp_path / "failures.csv").read_text() == "piece,reason\n"
    # the reader names the columns itself, so that reading a data set does not import the recipe
    assert CHORALES_ANALYSIS_COLUMNS == ANALYSIS_COLUMNS


# --- The command line -----------------------------------------------------------


def test_cli_limit_2_writes_manifest_and_resumes(tmp_path, capsys):
    out = tmp_path / "chorales"
    argv = ["--out", str(out), "--limit", "2", "--sample-rate", "8000", "--workers", "2"]
    assert main(argv) == 0

    header, rows = _read_csv(out / "manifest.csv")
    assert tuple(header) == MANIFEST_COLUMNS
    assert len(rows) == 2
    assert [r["piece"] for r in rows] == sorted(r["piece"] for r in rows)
    for row in rows:
        assert row["split"] == assign_split(row["piece"], seed=0)
        assert row["sample_rate"] == "8000"
        info = soundfile.info(str(out / row["wav_path"]))
        assert info.samplerate == 8000 and info.channels == 1 and info.subtype == "PCM_16"
        assert float(row["duration_s"]) == pytest.approx(info.frames / 8000, abs=1e-3)
        assert (out / row["midi_path"]).read_bytes()[:4] == b"MThd"
    assert _read_csv(out / "failures.csv") == (["piece", "reason"], [])
    for row in rows:
        # the key analysis of the score (the first two pieces of the listing are in major keys)
        assert row["mode"] == "major" and row["key"] == f"{row['tonic']} major"
        assert row["tempo_bpm"] == "120.0" and row["n_parts"] == "4"
    first_log = capsys.readouterr().err
    assert first_log.count(" ok ") == 2
    assert first_log.count(" major, 120 bpm") == 2

    mtimes = {p.name: p.stat().st_mtime_ns for p in (out / "wav").iterdir()}
    assert main(argv) == 0
    assert {p.name: p.stat().st_mtime_ns for p in (out / "wav").iterdir()} == mtimes
    second_log = capsys.readouterr().err
    assert second_log.count(" exists ") == 2 and " ok " not in second_log
    assert _read_csv(out / "manifest.csv")[1] == rows

    # A manifest from before the key analysis: a rerun fills the columns and renders nothing.
    old_columns = [c for c in MANIFEST_COLUMNS if c not in ANALYSIS_COLUMNS]
    with open(out / "manifest.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(old_columns)
        writer.writerows([[row[c] for c in old_columns] for row in rows])
    assert main(argv) == 0
    assert {p.name: p.stat().st_mtime_ns for p in (out / "wav").iterdir()} == mtimes
    assert " ok " not in capsys.readouterr().err
    assert _read_csv(out / "manifest.csv") == (list(MANIFEST_COLUMNS), rows)


@pytest.mark.parametrize(
    "extra, name",
    [(["--sample-rate", "0"], "sample_rate"), (["--workers", "0"], "workers"), (["--fractions", "1", "1", "1"], "fractions")],
)
def test_cli_bad_arguments_exit_2(tmp_path, capsys, extra, name):
    assert main(["--out", str(tmp_path / "x"), "--limit", "1", *extra]) == 2
    assert f"Received: {name}=" in capsys.readouterr().err


@pytest.mark.parametrize(
    "bound, reason",
    [({"max_duration_s": 5.0}, "more than max_duration_s=5"), ({"timeout_s": 0.05}, "timed out after 0.05 s")],
)
def test_render_is_bounded_in_length_and_time(tmp_path, sources, bound, reason):
    report = build_chorales(tmp_path, sample_rate=8000, workers=1, sources=sources[:1], log=io.StringIO(), **bound)
    assert report.rows == ()
    assert len(report.failures) == 1 and reason in report.failures[0][1]
    assert not (tmp_path / "wav" / f"{sources[0].piece}.wav").exists()


def test_a_dead_worker_is_a_failed_piece_not_a_crash_of_the_build():
    """A worker process that dies (e.g. FluidSynth crashing) gives a failed result the progress line and
    the manifest can read; before, the missing analysis keys stopped the whole build with a KeyError."""
    from concurrent.futures.process import BrokenProcessPool

    from preprocessing.recipes.chorales import build

    result = build.worker_failure("bwv269", BrokenProcessPool("A child process terminated abruptly"))
    line = build._progress_line(3, 12, result)
    assert line.startswith("[ 3/12] bwv269 FAILED: worker process failed: BrokenProcessPool")
    settings = {"seed": 0, "fractions": (0.8, 0.1, 0.1), "sample_rate": 16000}
    rows, failures, unanalysed = build._manifest_rows([result], settings)[:3]
    assert rows == [] and failures == [("bwv269", result["reason"])] and unanalysed == []


def test_cli_programs_make_the_instrument_folder(tmp_path, capsys):
    from preprocessing.sources import chorales_records

    out = tmp_path / "instruments"
    argv = ["--out", str(out), "--programs", "organ", "harpsichord=6", "--limit", "1", "--sample-rate", "8000",
            "--workers", "1"]
    assert main(argv) == 0
    assert "organ: 1 pieces linked" in capsys.readouterr().err
    links = sorted(out.glob("*/*.wav"))
    assert [link.parent.name for link in links] == ["harpsichord", "organ"]
    for link in links:  # relative links into the renders beside the folder, to 8 kHz audio
        assert link.is_symlink() and not Path(os.readlink(link)).is_absolute()
        assert (tmp_path / "instruments_renders") in link.resolve().parents
        assert soundfile.info(str(link)).samplerate == 8000
    assert json.loads((tmp_path / "instruments_renders" / "harpsichord" / "recipe.json").read_text())["program"] == 6
    header, rows = _read_csv(out / "captions.csv")
    assert header == ["file", "caption"] and [r["file"] for r in rows] == [f"organ/{links[0].name}", f"harpsichord/{links[0].name}"]
    assert "church organ" in rows[0]["caption"] and "harpsichord" in rows[1]["caption"]
    # the manifest: one row per piece and instrument, each render in its piece's recipe split
    records = chorales_records(out, label="instrument")
    assert sorted(r.label for r in records) == ["harpsichord", "organ"]
    render_split = {r["piece"]: r["split"] for r in _read_csv(tmp_path / "instruments_renders" / "organ" / "manifest.csv")[1]}
    for record in records:
        name, piece = record.piece.split("/")
        assert record.split == render_split[piece] and record.path.resolve() == (out / name / f"{piece}.wav").resolve()
        assert record.midi_path.is_file() and record.key  # the analysis columns travel with the rows
    assert main(argv) == 0  # a rerun keeps the renders and remakes the links
    assert len(list(out.glob("*/*.wav"))) == 2


@pytest.mark.parametrize("programs, message", [(["organ", "organ"], "each once"), (["flute"], "Unknown instrument"),
                                               (["harp=128"], "harp=128"), (["Harp=6"], "Harp=6")])
def test_cli_programs_bad_arguments_exit_2(tmp_path, capsys, programs, message):
    assert main(["--out", str(tmp_path / "x"), "--limit", "1", "--programs", *programs]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
