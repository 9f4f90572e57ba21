"""Tests for preprocessing/chorales.py: split assignment, rendering, the CLI and resume.

FluidSynth is a hard requirement of the recipe, so these tests fail (not skip)
without it.
"""

import csv
import io
import math
import sys

import numpy as np
import pytest
import soundfile

from common.errors import ParameterError
from preprocessing import chorales
from preprocessing.chorales import (
    MANIFEST_COLUMNS,
    SPLITS,
    assign_split,
    build_chorales,
    list_chorales,
    main,
    render_piece,
)


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
        chorales.midi_to_audio(chorales.score_to_midi(sources[0].path))


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
    first_log = capsys.readouterr().err
    assert first_log.count(" ok ") == 2

    mtimes = {p.name: p.stat().st_mtime_ns for p in (out / "wav").iterdir()}
    assert main(argv) == 0
    assert {p.name: p.stat().st_mtime_ns for p in (out / "wav").iterdir()} == mtimes
    second_log = capsys.readouterr().err
    assert second_log.count(" exists ") == 2 and " ok " not in second_log
    assert _read_csv(out / "manifest.csv")[1] == rows


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
