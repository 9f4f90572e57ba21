"""The build: every chorale rendered in a pool of worker processes, with progress, then the manifest.

See `preprocessing.recipes.chorales` for what is rendered and
`preprocessing.recipes.chorales.manifest` for the output folder.
"""

import concurrent.futures
import dataclasses
import multiprocessing
import sys
import time
from pathlib import Path

from common.validation import finite_number, integer
from preprocessing.midi import (
    DEFAULT_MAX_DURATION_S,
    DEFAULT_PEAK_DBFS,
    DEFAULT_PROGRAM,
    DEFAULT_SAMPLE_RATE,
    MAX_SAMPLE_RATE,
    MIN_SAMPLE_RATE,
    check_peak_dbfs,
    require_fluidsynth,
    resolve_soundfont,
)
from preprocessing.recipes.chorales.corpus import list_chorales
from preprocessing.recipes.chorales.manifest import (
    ManifestRow,
    make_folders,
    midi_path,
    wav_path,
    write_failures,
    write_manifest,
    write_recipe,
)
from preprocessing.recipes.chorales.render import MAX_REASON_CHARS, render_job
from preprocessing.recipes.chorales.splits import DEFAULT_FRACTIONS, SPLITS, assign_split, check_fractions

DEFAULT_WORKERS = 2
DEFAULT_TIMEOUT_S = 300.0


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


def _check_settings(
    *, sample_rate, program, soundfont, seed, fractions, workers, limit, peak_dbfs, max_duration_s, timeout_s
):
    """The checked settings, as written to ``recipe.json``, and ``workers``.

    Raises:
        ParameterError: see `build_chorales`.
    """
    sample_rate = integer("sample_rate", sample_rate, MIN_SAMPLE_RATE, MAX_SAMPLE_RATE)
    program = integer("program", program, 0, 127)
    seed = integer("seed", seed)
    fractions = check_fractions(fractions)
    workers = integer("workers", workers, 1)
    if limit is not None:
        limit = integer("limit", limit, 1)
    max_duration_s = finite_number("max_duration_s", max_duration_s, 0.0)
    if timeout_s is not None:
        timeout_s = finite_number("timeout_s", timeout_s, 0.0)
    peak_dbfs = check_peak_dbfs(peak_dbfs)
    soundfont = resolve_soundfont(soundfont)
    require_fluidsynth()
    settings = {
        "sample_rate": sample_rate,
        "program": program,
        "soundfont": str(soundfont),
        "seed": seed,
        "fractions": list(fractions),
        "limit": limit,
        "peak_dbfs": peak_dbfs,
        "max_duration_s": max_duration_s,
        "timeout_s": timeout_s,
    }
    return settings, workers


def _pieces_to_render(sources, limit):
    """``sources`` (None: `list_chorales()`), each id once (the first of a duplicate wins), cut to ``limit``."""
    sources = list_chorales() if sources is None else list(sources)
    unique = {}
    for source in sources:
        unique.setdefault(source.piece, source)
    sources = list(unique.values())
    return sources if limit is None else sources[:limit]


def _make_jobs(sources, out_dir, settings, overwrite):
    """One `render_job` argument per source."""
    render_settings = ("sample_rate", "program", "soundfont", "peak_dbfs", "max_duration_s", "timeout_s")
    return [
        {
            "piece": source.piece,
            "path": str(source.path),
            "out_dir": str(out_dir),
            **{name: settings[name] for name in render_settings},
            "overwrite": bool(overwrite),
        }
        for source in sources
    ]


def worker_failure(piece, err):
    """The result of a piece whose worker process died with ``err``: failed, with every key a result has."""
    return {
        "piece": piece,
        "status": "failed",
        "duration_s": 0.0,
        "reason": f"worker process failed: {type(err).__name__}: {err}"[:MAX_REASON_CHARS],
        "elapsed_s": 0.0,
        "analysis": None,  # the progress line and the manifest read these of every result
        "analysis_error": "the worker process failed",
    }


def _progress_line(count, total, result):
    """``[ 3/12] bwv269 ok 43.0 s, G major, 120 bpm (rendered in 3.9 s)`` and the like."""
    prefix = f"[{count:>{len(str(total))}}/{total}] {result['piece']}"
    analysis = result["analysis"]
    found = (
        f", {analysis['key']}, {analysis['tempo_bpm']:g} bpm" if analysis
        else f", key analysis FAILED: {result['analysis_error']}"
    )  # fmt: skip
    if result["status"] == "ok":
        return f"{prefix} ok {result['duration_s']:.1f} s{found} (rendered in {result['elapsed_s']:.1f} s)"
    if result["status"] == "exists":
        return f"{prefix} exists {result['duration_s']:.1f} s{found} (kept)"
    return f"{prefix} FAILED: {result['reason']}"


def _run_jobs(jobs, workers, log):
    """`render_job` over ``jobs`` in ``workers`` processes, a progress line each as they finish; their results."""
    results = []
    # "spawn", not "fork": a child forked from a process that has already run
    # FluidSynth or music21 (threads, held locks) can deadlock, as seen here.
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = {pool.submit(render_job, job): job["piece"] for job in jobs}
        for count, future in enumerate(concurrent.futures.as_completed(futures), start=1):
            try:
                result = future.result()
            except Exception as err:  # the worker process died (e.g. a crash in FluidSynth)
                result = worker_failure(futures[future], err)
            results.append(result)
            print(_progress_line(count, len(jobs), result), file=log, flush=True)
    return results


def _manifest_rows(results, settings):
    """The manifest rows, failures and unanalysed ``(piece, reason)`` pairs of ``results``, each sorted by piece."""
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
                split=assign_split(piece, settings["seed"], settings["fractions"]),
                wav_path=wav_path(piece),
                midi_path=midi_path(piece),
                duration_s=round(result["duration_s"], 3),
                sample_rate=settings["sample_rate"],
                **result["analysis"],
            )
        )
    return rows, failures, unanalysed


def build_chorales(
    out_dir="data/chorales",
    *,
    sample_rate=DEFAULT_SAMPLE_RATE,
    program=DEFAULT_PROGRAM,
    soundfont=None,
    seed=0,
    fractions=DEFAULT_FRACTIONS,
    limit=None,
    workers=DEFAULT_WORKERS,
    overwrite=False,
    peak_dbfs=DEFAULT_PEAK_DBFS,
    max_duration_s=DEFAULT_MAX_DURATION_S,
    timeout_s=DEFAULT_TIMEOUT_S,
    sources=None,
    log=None,
) -> ChoralesReport:
    """Render the chorales to WAV and write the manifest (see `preprocessing.recipes.chorales.manifest`).

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
    settings, workers = _check_settings(
        sample_rate=sample_rate, program=program, soundfont=soundfont, seed=seed, fractions=fractions,
        workers=workers, limit=limit, peak_dbfs=peak_dbfs, max_duration_s=max_duration_s, timeout_s=timeout_s,
    )  # fmt: skip
    out_dir = Path(out_dir)
    sources = _pieces_to_render(sources, settings["limit"])
    make_folders(out_dir)
    jobs = _make_jobs(sources, out_dir, settings, overwrite)
    print(
        f"Rendering {len(jobs)} chorales to {out_dir} at {settings['sample_rate']} Hz, program {settings['program']}, "
        f"SoundFont {Path(settings['soundfont']).name}, {workers} worker(s)",
        file=log,
        flush=True,
    )
    results = _run_jobs(jobs, workers, log)
    rows, failures, unanalysed = _manifest_rows(results, settings)
    write_manifest(out_dir, rows)
    write_failures(out_dir, failures)
    write_recipe(out_dir, settings)
    return ChoralesReport(
        out_dir=out_dir,
        rows=tuple(rows),
        rendered=tuple(sorted(r["piece"] for r in results if r["status"] == "ok")),
        resumed=tuple(sorted(r["piece"] for r in results if r["status"] == "exists")),
        failures=tuple(failures),
        wall_s=time.perf_counter() - started,
        unanalysed=tuple(unanalysed),
    )
