"""A training set of Bach chorales rendered to audio from music21's bundled corpus.

Each four-part chorale in ``music21.corpus.chorales`` is exported to MIDI, every
part is given one General MIDI program (19, "Church Organ", by default), and the
result is rendered with FluidSynth through ``pretty_midi``, peak-normalised to
-1 dBFS, trimmed of trailing silence and saved as 16-bit PCM WAV. Pieces are
split into train / validation / test by a seeded hash of their id, so a piece
always lands in the same split whichever other pieces fail.

Run (about 3 to 4 minutes on 2 CPU cores at 16 kHz)::

    python -m preprocessing.chorales --out data/chorales

Output folder::

    <out>/wav/<piece>.wav      mono, 16-bit PCM, peak -1 dBFS
    <out>/midi/<piece>.mid     the MIDI that was rendered (original programs)
    <out>/manifest.csv         piece,split,wav_path,midi_path,duration_s,sample_rate,
                               key,mode,tonic,tempo_bpm,n_parts  (see `analyze_score`)
    <out>/failures.csv         piece,reason   (pieces skipped in the last run)
    <out>/recipe.json          the settings of the last run

Each piece's score is also analysed (`analyze_score`): its key by the
Krumhansl-Schmuckler algorithm, its part count and its rendering tempo, the
labels and captions of class- and text-conditioned models
(`preprocessing.captions`).

A rerun into the same folder keeps pieces whose WAV already exists at the
requested sample rate (resume), and analyses their scores again (about 0.1 s
each), so a manifest from before the analysis gets its columns without any
audio being rendered; ``--overwrite`` renders everything again.
Changing ``--program`` or ``--soundfont`` needs ``--overwrite`` to take effect
on pieces already rendered.

FluidSynth itself is a system library: ``apt-get install fluidsynth``
(Debian/Ubuntu) or ``brew install fluid-synth`` (macOS); the larger
FluidR3_GM soundfont (``apt-get install fluid-soundfont-gm``) is used when
present, else the small TimGM6mb soundfont bundled with pretty_midi.
"""

import argparse
import concurrent.futures
import csv
import dataclasses
import hashlib
import io
import math
import multiprocessing
import os
import signal
import sys
import threading
import time
from pathlib import Path

import numpy as np

from common.atomic import atomic_write_bytes, atomic_write_json, atomic_write_text
from common.cli import exit_status
from common.errors import ParameterError
from common.validation import finite_number, integer
from preprocessing.midi import (
    DEFAULT_PEAK_DBFS,
    DEFAULT_PROGRAM,
    DEFAULT_SAMPLE_RATE,
    MAX_SAMPLE_RATE,
    MIN_SAMPLE_RATE,
    SYSTEM_SOUNDFONT,
    check_peak_dbfs,
    midi_to_audio,
    require_fluidsynth,
    resolve_soundfont,
)

SPLITS = ("train", "validation", "test")
# The score analysis' columns (`analyze_score`); manifests written before it lack them.
ANALYSIS_COLUMNS = ("key", "mode", "tonic", "tempo_bpm", "n_parts")
MANIFEST_COLUMNS = ("piece", "split", "wav_path", "midi_path", "duration_s", "sample_rate") + ANALYSIS_COLUMNS
FAILURE_COLUMNS = ("piece", "reason")

DEFAULT_FRACTIONS = (0.8, 0.1, 0.1)
# The key-finding method given to `Stream.analyze`: the Krumhansl-Schmuckler
# algorithm with Aarden-Essen key profiles, which is what `analyze("key")`
# runs in music21 10. Named explicitly so that another music21 default cannot
# change the labels silently. On the 350 chorales its key signature agrees with
# the score's in 293 pieces, against 257 with Krumhansl-Kessler profiles
# ("key.krumhansl"), and its tonic is the bass's last note in 294 against 260.
KEY_ANALYSIS_METHOD = "key.aarden"
# music21's MIDI export writes this tempo (quarter notes per minute) when the
# score has no metronome mark (`music21.midi.translate.conductorStream`).
DEFAULT_TEMPO_BPM = 120.0
# When a score exists in several formats, MusicXML is preferred: the Humdrum
# (.krn) copy of bwv277 has repeats that music21 cannot expand.
_FORMAT_PREFERENCE = (".mxl", ".musicxml", ".xml", ".krn", ".mid", ".midi")


@dataclasses.dataclass(frozen=True)
class ChoraleSource:
    """One chorale of the corpus.

    Attributes:
        piece: stable id derived from the corpus file name, e.g. ``"bwv26.6"``.
        path: the score file inside music21's corpus (MusicXML or Humdrum).
    """

    piece: str
    path: Path


@dataclasses.dataclass(frozen=True)
class ScoreAnalysis:
    """What `analyze_score` finds in a score.

    Attributes:
        key: ``"<tonic> <mode>"``, e.g. ``"G minor"``, ``"Bb major"``.
        mode: ``"major"`` or ``"minor"``.
        tonic: the tonic's pitch name: a capital letter with ``#`` or ``b``
            accidentals (``"G"``, ``"F#"``, ``"Bb"``).
        tempo_bpm: float > 0, quarter notes per minute: the score's first
            metronome mark, else `DEFAULT_TEMPO_BPM`; the tempo the MIDI (and
            so the audio) is rendered at.
        n_parts: int >= 1, the number of parts (voices) of the score.
        correlation: float in [-1, 1], the correlation of the key's profile
            with the score's pitch-class durations (the winner of the analysis).
    """

    key: str
    mode: str
    tonic: str
    tempo_bpm: float
    n_parts: int
    correlation: float


@dataclasses.dataclass(frozen=True)
class ManifestRow:
    """One line of ``manifest.csv``; paths are relative to the output folder.

    The analysis fields (`ScoreAnalysis`) are "" / None when the analysis failed.
    """

    piece: str
    split: str
    wav_path: str
    midi_path: str
    duration_s: float
    sample_rate: int
    key: str = ""
    mode: str = ""
    tonic: str = ""
    tempo_bpm: float | None = None
    n_parts: int | None = None


@dataclasses.dataclass(frozen=True)
class ChoralesReport:
    """What `build_chorales` did.

    Attributes:
        out_dir: the output folder.
        rows: the manifest rows (rendered now or kept from an earlier run),
            sorted by piece.
        rendered: ids rendered in this run.
        resumed: ids whose WAV already existed and was kept.
        failures: ``(piece, reason)`` pairs for the pieces skipped, sorted by piece.
        wall_s: wall-clock time of the whole build, in seconds.
        unanalysed: ``(piece, reason)`` pairs for the pieces in ``rows`` whose
            score analysis failed (their analysis columns are empty), sorted by piece.
    """

    out_dir: Path
    rows: tuple
    rendered: tuple
    resumed: tuple
    failures: tuple
    wall_s: float
    unanalysed: tuple = ()

    def mode_counts(self) -> dict:
        """Number of pieces per analysed mode: ``{"major": ..., "minor": ..., "": unanalysed}``."""
        counts = {"major": 0, "minor": 0, "": 0}
        for row in self.rows:
            counts[row.mode] = counts.get(row.mode, 0) + 1
        return counts

    def split_durations_s(self) -> dict:
        """Total audio per split, in seconds: ``{"train": ..., "validation": ..., "test": ...}``."""
        totals = {split: 0.0 for split in SPLITS}
        for row in self.rows:
            totals[row.split] += row.duration_s
        return totals

    def split_counts(self) -> dict:
        """Number of pieces per split."""
        counts = {split: 0 for split in SPLITS}
        for row in self.rows:
            counts[row.split] += 1
        return counts


# ---------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------


def _check_fractions(fractions):
    """Return ``fractions`` as a tuple of 3 floats or raise ParameterError."""
    try:
        values = tuple(float(f) for f in fractions)
    except (TypeError, ValueError):
        values = ()
    if (
        len(values) != len(SPLITS)
        or not all(math.isfinite(f) and f >= 0 for f in values)
        or abs(sum(values) - 1.0) > 1e-6
    ):
        raise ParameterError(
            "fractions must be 3 numbers >= 0 (train, validation, test) that sum to 1. "
            f"Received: fractions={fractions!r}"
        )
    return values


# ---------------------------------------------------------------------------
# Listing and splitting
# ---------------------------------------------------------------------------


def _resolve_corpus_path(name):
    """Map a corpus name such as ``"bach/bwv277"`` to one score file.

    music21's own lookup is by substring and returns several files for some
    names (``bach/bwv244.3`` also matches ``bwv244.32``); this keeps the files
    whose stem is exactly the name and prefers MusicXML.
    """
    from music21 import corpus

    found = corpus.getWork(name)
    candidates = found if isinstance(found, list) else [found]
    candidates = [Path(p) for p in candidates]
    stem = name.rsplit("/", 1)[-1]
    exact = [p for p in candidates if p.stem == stem] or candidates

    def rank(path):
        suffix = path.suffix.lower()
        order = _FORMAT_PREFERENCE.index(suffix) if suffix in _FORMAT_PREFERENCE else len(_FORMAT_PREFERENCE)
        return (order, path.name)

    return min(exact, key=rank)


def list_chorales() -> list:
    """List the Bach chorales in music21's corpus without parsing them.

    The order is that of ``music21.corpus.chorales.Iterator`` (Riemenschneider
    numbering); pieces listed more than once (371 entries, about 350 distinct)
    appear once, at their first position.

    Returns:
        A list of `ChoraleSource` ``(piece, path)``; ``piece`` is the score file's
        name without folder and extension (``"bwv26.6"``), unique in the list.
    """
    from music21 import corpus

    sources = {}
    for name in dict.fromkeys(corpus.chorales.Iterator(returnType="filename")):
        path = _resolve_corpus_path(str(name))
        sources.setdefault(path.stem, ChoraleSource(piece=path.stem, path=path))
    return list(sources.values())


def assign_split(piece, seed=0, fractions=DEFAULT_FRACTIONS) -> str:
    """Assign a piece to a split by a seeded hash of its id.

    The SHA-1 digest of ``f"{seed}:{piece}"`` gives a number ``u`` uniform in
    [0, 1); the piece goes to the first split whose cumulative fraction exceeds
    ``u``. Unlike Python's ``hash()`` this is the same in every process and
    run, and a piece's split does not depend on which other pieces exist.

    Args:
        piece: non-empty str, the piece id (e.g. ``"bwv26.6"``).
        seed: int, changes the assignment as a whole.
        fractions: 3 numbers >= 0 summing to 1: train, validation, test.
    Returns:
        ``"train"``, ``"validation"`` or ``"test"``.
    Raises:
        ParameterError: if ``piece`` is not a non-empty str, ``seed`` is not an
            int, or ``fractions`` is invalid.
    """
    if not isinstance(piece, str) or not piece:
        raise ParameterError(f"piece must be a non-empty string. Received: piece={piece!r}")
    seed = integer("seed", seed)
    fractions = _check_fractions(fractions)
    digest = hashlib.sha1(f"{seed}:{piece}".encode("utf-8")).digest()
    u = int.from_bytes(digest[:8], "big") / 2.0**64  # uniform in [0, 1)
    cumulative = 0.0
    for split, fraction in zip(SPLITS, fractions):
        cumulative += fraction
        if u < cumulative:
            return split
    # Rounding left u just above the total: use the last split that takes pieces.
    return [split for split, fraction in zip(SPLITS, fractions) if fraction > 0][-1]


# ---------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------


def score_to_midi(source) -> bytes:
    """Export a score to a Standard MIDI File with music21.

    Args:
        source: path to a score file music21 can parse (MusicXML, Humdrum, ...),
            or a parsed ``music21.stream.Stream``.
    Returns:
        The MIDI file as bytes (one track per part, 10080 ticks per quarter).
    Raises:
        ParameterError: if ``source`` is a path that does not exist.
        Exception: whatever music21 raises for a score it cannot export
            (e.g. ``ExpanderException`` for badly formed repeats).
    """
    from music21 import midi

    return midi.translate.music21ObjectToMidiFile(_parse_score(source)).writestr()


def _parse_score(source):
    """A parsed music21 stream from a score path or stream (see `score_to_midi`)."""
    from music21 import converter

    if isinstance(source, (str, os.PathLike)):
        if not Path(source).is_file():
            raise ParameterError(f"Score file not found. Received: source={str(source)!r}")
        return converter.parse(str(source))
    return source


def _pitch_name(pitch) -> str:
    """music21's pitch name with ``b`` for its flat sign ``-`` (``"B-"`` -> ``"Bb"``)."""
    return pitch.name.replace("-", "b")


def analyze_score(source) -> ScoreAnalysis:
    """The key, tempo and part count of a score.

    The key is found by the Krumhansl-Schmuckler algorithm: the durations of
    the 12 pitch classes over the whole score are correlated with a major and
    a minor key profile rotated to each of the 12 tonics, and the best of the
    24 keys wins. The profiles are Aarden's (`KEY_ANALYSIS_METHOD`, what
    ``score.analyze("key")`` uses in music21 10). A whole-piece analysis gives
    one key per piece; modulations inside a piece are not seen, and a piece
    ending on the dominant (a Phrygian cadence) can be given the key of its
    final chord.

    Args:
        source: path to a score file music21 can parse (MusicXML, Humdrum, ...),
            or a parsed ``music21.stream.Stream`` (not modified).
    Returns:
        A `ScoreAnalysis`.
    Raises:
        ParameterError: if ``source`` is a path that does not exist, or the
            score has no notes.
        Exception: whatever music21 raises for a score it cannot parse.
    References:
        C. L. Krumhansl, "Cognitive Foundations of Musical Pitch", Oxford
        University Press, 1990, ch. 4 (the algorithm, after Krumhansl and
        Schmuckler). B. Aarden, "Dynamic melodic expectancy", PhD thesis, Ohio
        State University, 2003 (the profiles). Implementation:
        ``music21.analysis.discrete.AardenEssen``.
    """
    from music21 import tempo

    score = _parse_score(source)
    if not score.recurse().notes:
        raise ParameterError(f"The score has no notes to analyse. Received: source={str(source)!r}")
    found = score.analyze(KEY_ANALYSIS_METHOD)
    tonic = _pitch_name(found.tonic)
    tempo_bpm = DEFAULT_TEMPO_BPM
    marks = sorted(score.recurse().getElementsByClass(tempo.MetronomeMark), key=lambda m: m.getOffsetInHierarchy(score))
    for mark in marks:
        # the MIDI export's reading: the sounding mark, in quarter notes per minute
        bpm = mark.getSoundingMetronomeMark().getQuarterBPM()
        if bpm is not None and bpm > 0:
            tempo_bpm = float(bpm)
            break
    n_parts = len(score.parts) if hasattr(score, "parts") and len(score.parts) else 1
    return ScoreAnalysis(
        key=f"{tonic} {found.mode}",
        mode=found.mode,
        tonic=tonic,
        tempo_bpm=round(tempo_bpm, 3),
        n_parts=n_parts,
        correlation=float(found.correlationCoefficient),
    )


def render_piece(
    piece_id,
    source,
    sample_rate=DEFAULT_SAMPLE_RATE,
    program=DEFAULT_PROGRAM,
    soundfont=None,
    peak_dbfs=DEFAULT_PEAK_DBFS,
    max_duration_s=600.0,
) -> np.ndarray:
    """Render one chorale to audio: `score_to_midi`, then `preprocessing.midi.midi_to_audio`.

    Args:
        piece_id: str, used in error messages (e.g. ``"bwv26.6"``).
        source: score file path or parsed music21 stream (see `score_to_midi`).
        sample_rate, program, soundfont, peak_dbfs, max_duration_s: see `midi_to_audio`.
    Returns:
        float32 array, shape ``(n_samples,)``, mono, peak -1 dBFS by default.
    Raises:
        ParameterError: see `midi_to_audio` and `score_to_midi`.
        Exception: whatever music21 raises for a score it cannot export.
    """
    midi_bytes = score_to_midi(source)
    return midi_to_audio(
        midi_bytes,
        sample_rate=sample_rate,
        program=program,
        soundfont=soundfont,
        peak_dbfs=peak_dbfs,
        max_duration_s=max_duration_s,
        piece=piece_id,
    )


def _wav_bytes(audio, sample_rate):
    import soundfile

    buffer = io.BytesIO()
    soundfile.write(buffer, audio, sample_rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


# ---------------------------------------------------------------------------
# The batch job
# ---------------------------------------------------------------------------


class _PieceTimeout(Exception):
    pass


def _raise_timeout(signum, frame):
    raise _PieceTimeout()


def _analysis_fields(score):
    """`analyze_score` as the manifest's analysis columns, and "" or why it failed. Never raises."""
    try:
        analysis = analyze_score(score)
    except _PieceTimeout:
        raise  # the piece's time is up: not an analysis failure
    except Exception as err:  # a label missing is no reason to drop the audio
        message = " ".join(str(err).split()) or repr(err)
        return {}, f"{type(err).__name__}: {message}"[:300]
    return {column: getattr(analysis, column) for column in ANALYSIS_COLUMNS}, ""


def _render_job(job):
    """Analyse, render and save one piece; runs in a worker process. Never raises.

    Returns a dict with ``piece``, ``status`` ("ok", "exists" or "failed"),
    ``duration_s``, ``reason``, ``analysis`` (the `ANALYSIS_COLUMNS`, empty if
    the analysis failed), ``analysis_error`` ("" or why) and ``elapsed_s``.
    A piece whose WAV exists is analysed but not rendered.
    """
    import soundfile

    started = time.perf_counter()
    piece = job["piece"]
    out_dir = Path(job["out_dir"])
    wav_path = out_dir / "wav" / f"{piece}.wav"
    midi_path = out_dir / "midi" / f"{piece}.mid"
    result = {
        "piece": piece, "status": "failed", "duration_s": 0.0, "reason": "", "analysis": {}, "analysis_error": "",
        "elapsed_s": 0.0,
    }  # fmt: skip

    exists = False
    if not job["overwrite"] and wav_path.is_file() and midi_path.is_file():
        try:
            info = soundfile.info(str(wav_path))
            if info.samplerate == job["sample_rate"] and info.frames > 0:
                exists = True
                result["duration_s"] = info.frames / info.samplerate
        except RuntimeError:
            pass  # unreadable: render it again

    # SIGALRM interrupts the Python loop in pretty_midi's renderer (and music21's
    # parser), so a piece that hangs is abandoned and its worker goes on with the next one.
    use_alarm = (
        job["timeout_s"] is not None
        and hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
    )
    if use_alarm:
        previous_handler = signal.signal(signal.SIGALRM, _raise_timeout)
        signal.setitimer(signal.ITIMER_REAL, job["timeout_s"])
    try:
        score = _parse_score(job["path"])
        result["analysis"], result["analysis_error"] = _analysis_fields(score)
        if exists:
            result["status"] = "exists"
            return result
        midi_bytes = score_to_midi(score)
        audio = midi_to_audio(
            midi_bytes,
            sample_rate=job["sample_rate"],
            program=job["program"],
            soundfont=job["soundfont"],
            peak_dbfs=job["peak_dbfs"],
            max_duration_s=job["max_duration_s"],
            piece=piece,
        )
        if audio.size == 0:
            raise ParameterError(f"Nothing left after trimming silence. Received: piece={piece!r}")
        if use_alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
        # MIDI first, WAV last: a WAV on disk means the piece is complete.
        atomic_write_bytes(midi_path, midi_bytes)
        atomic_write_bytes(wav_path, _wav_bytes(audio, job["sample_rate"]))
        result.update(status="ok", duration_s=audio.size / job["sample_rate"])
    except _PieceTimeout:
        result["reason"] = f"timed out after {job['timeout_s']:g} s"
    except Exception as err:  # a batch job reports the bad piece and goes on
        message = " ".join(str(err).split()) or repr(err)
        result["reason"] = f"{type(err).__name__}: {message}"[:300]
    finally:
        if use_alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous_handler)
        result["elapsed_s"] = time.perf_counter() - started
    if exists and result["status"] == "failed":
        # the score no longer parses (or timed out), but the audio on disk is complete: keep it, unlabelled
        result.update(status="exists", analysis={}, analysis_error=result["reason"], reason="")
    return result


def _csv_text(columns, rows):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return buffer.getvalue()


def build_chorales(
    out_dir="data/chorales",
    *,
    sample_rate=DEFAULT_SAMPLE_RATE,
    program=DEFAULT_PROGRAM,
    soundfont=None,
    seed=0,
    fractions=DEFAULT_FRACTIONS,
    limit=None,
    workers=2,
    overwrite=False,
    peak_dbfs=DEFAULT_PEAK_DBFS,
    max_duration_s=600.0,
    timeout_s=300.0,
    sources=None,
    log=None,
) -> ChoralesReport:
    """Render the chorales to WAV and write the manifest (see the module docstring for the layout).

    Pieces are rendered in ``workers`` processes; a piece that fails (music21
    cannot export it, no notes, silent, longer than ``max_duration_s``, slower
    than ``timeout_s``) is reported and skipped, and the rest finish. Every
    piece's score is analysed (`analyze_score`), kept pieces included; a piece
    whose analysis fails keeps its audio, with empty analysis columns, and is
    listed in ``ChoralesReport.unanalysed``. ``manifest.csv``, ``failures.csv``
    and ``recipe.json`` are written atomically once all pieces are done.

    Args:
        out_dir: output folder (created if missing).
        sample_rate: int in [8000, 96000], in Hz.
        program: int in [0, 127], General MIDI program for every part (19 = Church Organ).
        soundfont: ``.sf2`` path or None (see `preprocessing.midi.resolve_soundfont`).
        seed: int for `assign_split`.
        fractions: train, validation, test fractions, >= 0, summing to 1.
        limit: int >= 1 or None: only the first ``limit`` pieces of the listing.
        workers: int >= 1, number of worker processes.
        overwrite: if False, pieces whose WAV exists at ``sample_rate`` are kept
            (analysed again, not rendered).
        peak_dbfs: float <= 0, peak level of each WAV in dBFS.
        max_duration_s: float > 0, in seconds: longer pieces are skipped unrendered.
        timeout_s: float > 0 or None, in seconds: a piece taking longer is skipped.
        sources: list of `ChoraleSource` to render instead of `list_chorales()`.
        log: text stream for progress (default ``sys.stderr``).
    Returns:
        A `ChoralesReport`.
    Raises:
        ParameterError: for an invalid argument, a missing SoundFont or missing FluidSynth.
    """
    started = time.perf_counter()
    log = sys.stderr if log is None else log
    sample_rate = integer("sample_rate", sample_rate, MIN_SAMPLE_RATE, MAX_SAMPLE_RATE)
    program = integer("program", program, 0, 127)
    seed = integer("seed", seed)
    fractions = _check_fractions(fractions)
    workers = integer("workers", workers, 1)
    if limit is not None:
        limit = integer("limit", limit, 1)
    max_duration_s = finite_number("max_duration_s", max_duration_s, 0.0)
    if timeout_s is not None:
        timeout_s = finite_number("timeout_s", timeout_s, 0.0)
    peak_dbfs = check_peak_dbfs(peak_dbfs)
    soundfont = resolve_soundfont(soundfont)
    require_fluidsynth()

    out_dir = Path(out_dir)
    sources = list_chorales() if sources is None else list(sources)
    unique = {}
    for source in sources:
        unique.setdefault(source.piece, source)  # the first of a duplicated id wins
    sources = list(unique.values())
    if limit is not None:
        sources = sources[:limit]
    (out_dir / "wav").mkdir(parents=True, exist_ok=True)
    (out_dir / "midi").mkdir(parents=True, exist_ok=True)

    jobs = [
        {
            "piece": source.piece,
            "path": str(source.path),
            "out_dir": str(out_dir),
            "sample_rate": sample_rate,
            "program": program,
            "soundfont": str(soundfont),
            "peak_dbfs": float(peak_dbfs),
            "max_duration_s": max_duration_s,
            "timeout_s": timeout_s,
            "overwrite": bool(overwrite),
        }
        for source in sources
    ]
    print(
        f"Rendering {len(jobs)} chorales to {out_dir} at {sample_rate} Hz, program {program}, "
        f"SoundFont {soundfont.name}, {workers} worker(s)",
        file=log,
        flush=True,
    )

    results = []
    # "spawn", not "fork": a child forked from a process that has already run
    # FluidSynth or music21 (threads, held locks) can deadlock, as seen here.
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = {pool.submit(_render_job, job): job["piece"] for job in jobs}
        width = len(str(len(jobs)))
        for count, future in enumerate(concurrent.futures.as_completed(futures), start=1):
            try:
                result = future.result()
            except Exception as err:  # the worker process died (e.g. a crash in FluidSynth)
                result = {
                    "piece": futures[future],
                    "status": "failed",
                    "duration_s": 0.0,
                    "reason": f"worker process failed: {type(err).__name__}: {err}"[:300],
                    "elapsed_s": 0.0,
                }
            results.append(result)
            prefix = f"[{count:>{width}}/{len(jobs)}] {result['piece']}"
            analysis = result["analysis"]
            found = (
                f", {analysis['key']}, {analysis['tempo_bpm']:g} bpm" if analysis
                else f", key analysis FAILED: {result['analysis_error']}"
            )
            if result["status"] == "ok":
                line = f"{prefix} ok {result['duration_s']:.1f} s{found} (rendered in {result['elapsed_s']:.1f} s)"
            elif result["status"] == "exists":
                line = f"{prefix} exists {result['duration_s']:.1f} s{found} (kept)"
            else:
                line = f"{prefix} FAILED: {result['reason']}"
            print(line, file=log, flush=True)

    rows, failures, unanalysed = [], [], []
    for result in sorted(results, key=lambda r: r["piece"]):
        piece = result["piece"]
        if result["status"] == "failed":
            failures.append((piece, result["reason"]))
            continue
        if not result["analysis"]:
            unanalysed.append((piece, result["analysis_error"]))
        rows.append(
            ManifestRow(
                piece=piece,
                split=assign_split(piece, seed, fractions),
                wav_path=f"wav/{piece}.wav",
                midi_path=f"midi/{piece}.mid",
                duration_s=round(result["duration_s"], 3),
                sample_rate=sample_rate,
                **result["analysis"],
            )
        )

    def cell(value):
        return "" if value is None else value

    atomic_write_text(
        out_dir / "manifest.csv",
        _csv_text(MANIFEST_COLUMNS, [[cell(getattr(row, c)) for c in MANIFEST_COLUMNS] for row in rows]),
    )
    atomic_write_text(out_dir / "failures.csv", _csv_text(FAILURE_COLUMNS, failures))
    atomic_write_json(
        out_dir / "recipe.json",
        {
            "sample_rate": sample_rate,
            "program": program,
            "soundfont": str(soundfont),
            "seed": seed,
            "fractions": list(fractions),
            "limit": limit,
            "peak_dbfs": float(peak_dbfs),
            "max_duration_s": max_duration_s,
            "timeout_s": timeout_s,
        },
    )
    return ChoralesReport(
        out_dir=out_dir,
        rows=tuple(rows),
        rendered=tuple(sorted(r["piece"] for r in results if r["status"] == "ok")),
        resumed=tuple(sorted(r["piece"] for r in results if r["status"] == "exists")),
        failures=tuple(failures),
        wall_s=time.perf_counter() - started,
        unanalysed=tuple(unanalysed),
    )


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------


def _parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="python -m preprocessing.chorales",
        description=(
            "Render the Bach chorales of music21's corpus to mono 16-bit WAV with FluidSynth "
            "and write a train/validation/test manifest. Example: "
            "python -m preprocessing.chorales --out data/chorales"
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--out", default="data/chorales", help="output folder")
    parser.add_argument("--sample-rate", type=int, default=DEFAULT_SAMPLE_RATE, help="in Hz, 8000 to 96000")
    parser.add_argument(
        "--program", type=int, default=DEFAULT_PROGRAM,
        help="General MIDI program (0-based) for every part: 19 Church Organ, 52 Choir Aahs",
    )
    parser.add_argument(
        "--soundfont", default=None,
        help=f".sf2 file; default {SYSTEM_SOUNDFONT} if present, else pretty_midi's TimGM6mb.sf2",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the split assignment")
    parser.add_argument(
        "--fractions", type=float, nargs=3, default=list(DEFAULT_FRACTIONS),
        metavar=("TRAIN", "VALIDATION", "TEST"), help="split fractions, summing to 1",
    )
    parser.add_argument("--limit", type=int, default=None, help="render only the first N pieces")
    parser.add_argument("--workers", type=int, default=2, help="worker processes")
    parser.add_argument("--overwrite", action="store_true", help="render pieces whose WAV already exists")
    parser.add_argument(
        "--max-duration-s", type=float, default=600.0, help="skip pieces longer than this, in seconds"
    )
    parser.add_argument(
        "--timeout-s", type=float, default=300.0, help="skip a piece whose rendering takes longer, in seconds"
    )
    return parser.parse_args(argv)


def render_from_args(args) -> int:
    """Run `build_chorales` for parsed arguments and print the report; 0 all rendered, 1 some skipped."""
    report = build_chorales(
        args.out,
        sample_rate=args.sample_rate,
        program=args.program,
        soundfont=args.soundfont,
        seed=args.seed,
        fractions=args.fractions,
        limit=args.limit,
        workers=args.workers,
        overwrite=args.overwrite,
        max_duration_s=args.max_duration_s,
        timeout_s=args.timeout_s,
    )
    durations = report.split_durations_s()
    counts = report.split_counts()
    print(
        f"Done in {report.wall_s:.1f} s: {len(report.rows)} pieces in the manifest "
        f"({len(report.rendered)} rendered, {len(report.resumed)} kept), {len(report.failures)} skipped.",
        file=sys.stderr,
    )
    for split in SPLITS:
        print(f"  {split:<10} {counts[split]:4d} pieces {durations[split] / 60:7.1f} min", file=sys.stderr)
    modes = report.mode_counts()
    print(f"  key analysis: {modes['major']} major, {modes['minor']} minor, {modes['']} failed", file=sys.stderr)
    for piece, reason in report.unanalysed:
        print(f"  {piece}: key analysis failed (columns left empty): {reason}", file=sys.stderr)
    print(f"Manifest: {report.out_dir / 'manifest.csv'}", file=sys.stderr)
    if report.failures:
        print(f"Skipped ({report.out_dir / 'failures.csv'}):", file=sys.stderr)
        for piece, reason in report.failures:
            print(f"  {piece}: {reason}", file=sys.stderr)
        return 1
    return 0


def main(argv=None) -> int:
    """Command-line entry point. Returns 0 if every piece is rendered, 1 if some were skipped, 2 for bad arguments."""
    return exit_status(render_from_args, _parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
