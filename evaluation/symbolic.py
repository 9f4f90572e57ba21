"""Symbolic measures of part music, for generated and real score-roll clips side by side (issue 16).

Usage (from the repository root; the data set written by ``preprocessing.run`` with
``configs/chorales_score_roll.yaml``):

    python -m evaluation.symbolic --data data/chorales_score_roll --sets test train
    python -m evaluation.symbolic --data data/chorales_score_roll --sets test \
        --midi 'generated=outputs/roll/generated_*.mid' --json outputs/roll/symbolic.json

Each set is a list of clips; a clip is its notes (int ``(n, 3)``: MIDI pitch, start
step, end step, `preprocessing.note_grid`) and its length ``n_steps``. A data set's
clips are decoded with its own transform (`ScoreRollTransform.decode`), so real and
generated clips go through the same rule; a key-normalised data set's clips are decoded in
their pieces' own keys (minus the manifest's ``transposition``), as `generate.sounds` writes
the originals beside its samples. Per set (`measure_set`):

    notes_per_second    notes per clip / the clip's seconds at the transform's tempo
                        (a note held into the clip counts), mean and standard deviation.
    voices              sounding pitches per step: the mean over steps where something
                        sounds, and the share of all steps with 0, 1, ..., 5, 6+ pitches.
    voice ranges        each step's sounding pitches give voices by rank (`voices_by_rank`):
                        soprano = the highest; bass = the lowest (if >= 2 sound); alto =
                        the second highest (if >= 3); tenor = the second lowest (if >= 4);
                        pitches between alto and tenor (5+ sounding) are in no voice. A
                        voice's range is the 5th-95th percentile of its pitches over the
                        set's steps (and min-max).
    pitch classes       the step-weighted (duration) pitch-class histogram of the set,
                        normalised; its distance to a reference set is the Jensen-Shannon
                        distance, base 2, in [0, 1] (`pitch_class_distance`).
    key                 music21's Krumhansl-Schmuckler analysis with Aarden-Essen profiles
                        (the recipe's `KEY_ANALYSIS_METHOD`) of each clip: the share of
                        clips whose best key's correlation is >= `KEY_CORRELATION_THRESHOLD`,
                        and the share whose two halves get the same key (tonic and mode).
    parallels           between consecutive onset steps (steps where a note starts), for
                        every pair of rank voices present at both: the share of the pairs
                        where both voices move in the same direction from a perfect fifth
                        to a perfect fifth (7 semitones modulo 12, so compound fifths too)
                        or from an octave to an octave (12, 24, ... semitones), among the
                        pairs where both voices move (`parallel_motions`).
    semitone clashes    the share of steps with two or more sounding pitches in which two
                        of them lie a semitone apart modulo the octave (a minor second,
                        major seventh or minor ninth: `has_semitone_clash`), the sharpest
                        dissonance (Plomp and Levelt 1965). Bach's passing notes and
                        suspensions make some; a wrong note makes more.
    struck clashes      pairs of notes a semitone apart modulo the octave that start on the
                        same step, per 100 notes (`struck_semitone_clashes`): a chord with a
                        wrong note in it. Passing notes and suspensions start against a note
                        already sounding, so they are not counted; Bach's test chorales have
                        0.5 per 100 notes.

Limits: rank voices are not the score's voices; where voices cross or two sing one
pitch (one cell of the roll) they are mislabelled, so the real chorales' own figures
(the floor) are not zero. Fifths and octaves are counted in semitones: a roll has no
spelling, so a diminished sixth (G#-Eb) counts as a fifth.

References:
    Parallel fifths and octaves: E. Aldwell and C. Schachter, "Harmony and Voice Leading",
    3rd ed., Schirmer, 2003 (two voices moving in the same direction from one perfect
    fifth or octave to another, compound intervals included); the same as music21's
    ``VoiceLeadingQuartet.parallelMotion(..., allowOctaveDisplacement=True)``, checked in
    tests/evaluation/test_symbolic.py (music21 also counts contrary "antiparallel" fifths, not here).
    Pitch-class histograms as a measure of generated music: L.-C. Yang and A. Lerch, "On
    the evaluation of generative models in music", Neural Computing and Applications 32,
    2020. Jensen-Shannon divergence: J. Lin, "Divergence measures based on the Shannon
    entropy", IEEE Trans. Information Theory 37(1), 1991 (``scipy.spatial.distance.jensenshannon``).
    Dissonance of a semitone: R. Plomp and W. J. M. Levelt, "Tonal consonance and critical
    bandwidth", J. Acoust. Soc. Am. 38, 1965 (roughness is greatest about a quarter of a
    critical band apart, a semitone or so in the voices' register).
    Key finding: C. L. Krumhansl, "Cognitive Foundations of Musical Pitch", 1990, ch. 4;
    B. Aarden, PhD thesis, Ohio State University, 2003 (the profiles).
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from common.atomic import atomic_write_json
from common.cli import exit_status
from common.errors import ParameterError
from common.validation import finite_number, integer
from preprocessing.keys import analyse_key
from preprocessing.midi import load_midi
from preprocessing.note_grid import check_notes, grid_notes

KEY_CORRELATION_THRESHOLD = 0.8  # real test-split chorale clips: median 0.895, 90 % at or above 0.8 (docs/MEASUREMENTS.md)
VOICE_NAMES = ("soprano", "alto", "tenor", "bass")
MAX_VOICES_BIN = 6  # the last bin of the voices histogram: 6 or more sounding pitches


def sounding_pitches(notes, n_steps) -> list:
    """The pitches sounding at each step: a list of ``n_steps`` int arrays, each sorted descending.

    Args:
        notes: int array ``(n_notes, 3)``: MIDI pitch, start step, end step.
        n_steps: int >= 1; notes are cut to [0, n_steps).
    """
    notes = check_notes(notes)
    n_steps = integer("n_steps", n_steps, 1)
    grid = np.zeros((128, n_steps), bool)
    for pitch, start, end in notes:
        grid[pitch, start:min(end, n_steps)] = True
    return [np.flatnonzero(grid[:, t])[::-1] for t in range(n_steps)]


def voices_by_rank(pitches) -> dict:
    """The rank voices of one step's sounding pitches (module docstring): ``{voice name: pitch}``.

    Args:
        pitches: int array, sorted descending (`sounding_pitches`).
    Returns:
        dict with ``soprano`` (>= 1 pitch), ``bass`` (>= 2), ``alto`` (>= 3), ``tenor`` (>= 4).
    """
    voices = {}
    if len(pitches) >= 1:
        voices["soprano"] = int(pitches[0])
    if len(pitches) >= 2:
        voices["bass"] = int(pitches[-1])
    if len(pitches) >= 3:
        voices["alto"] = int(pitches[1])
    if len(pitches) >= 4:
        voices["tenor"] = int(pitches[-2])
    return voices


def has_semitone_clash(pitches) -> bool:
    """True if two of one step's ``pitches`` (MIDI numbers) are a semitone apart modulo 12 (module docstring)."""
    classes = {int(p) % 12 for p in pitches}
    return any((c + 1) % 12 in classes for c in classes)


def struck_semitone_clashes(notes) -> int:
    """Pairs of ``notes`` (int ``(n, 3)``: MIDI pitch, start step, end step) that start on the same step with
    pitches a semitone apart modulo 12 (module docstring, "struck clashes"); an int >= 0."""
    notes = np.asarray(notes).reshape(-1, 3)
    same_start = notes[:, None, 1] == notes[None, :, 1]
    semitone = np.isin(np.abs(notes[:, None, 0] - notes[None, :, 0]) % 12, (1, 11))
    return int(np.triu(same_start & semitone, k=1).sum())


def parallel_motions(steps) -> dict:
    """Count parallel fifths and octaves between rank voices at consecutive onset steps.

    Args:
        steps: list of ``(onset step's rank voices)``: dicts from `voices_by_rank`, one per
            onset step, in time order.
    Returns:
        dict of ints: ``moving_pairs`` (voice pairs present at both steps of a transition,
        both voices moving), ``parallel_fifths``, ``parallel_octaves``.
    """
    counts = {"moving_pairs": 0, "parallel_fifths": 0, "parallel_octaves": 0}
    for before, after in zip(steps[:-1], steps[1:]):
        names = [name for name in VOICE_NAMES if name in before and name in after]
        for i, upper in enumerate(names):
            for lower in names[i + 1 :]:
                a1, a2, b1, b2 = before[upper], after[upper], before[lower], after[lower]
                if a1 == a2 or b1 == b2:
                    continue  # oblique or no motion
                counts["moving_pairs"] += 1
                if (a2 - a1) * (b2 - b1) <= 0:
                    continue  # contrary motion
                first, second = abs(a1 - b1), abs(a2 - b2)
                if first % 12 == 7 and second % 12 == 7:
                    counts["parallel_fifths"] += 1
                elif first % 12 == 0 and second % 12 == 0 and first and second:
                    counts["parallel_octaves"] += 1
    return counts


def pitch_class_histogram(clips) -> np.ndarray:
    """The step-weighted pitch-class histogram of a set: float64 ``(12,)``, summing to 1 (zeros if no note).

    Args:
        clips: iterable of ``(notes, n_steps)``.
    """
    counts = np.zeros(12)
    for notes, n_steps in clips:
        notes = check_notes(notes)
        durations = np.minimum(notes[:, 2], n_steps) - notes[:, 1]
        np.add.at(counts, notes[:, 0] % 12, np.maximum(durations, 0))
    return counts / counts.sum() if counts.sum() else counts


def pitch_class_distance(histogram, reference) -> float:
    """Jensen-Shannon distance (base 2, in [0, 1]) between two pitch-class histograms (Lin 1991).

    Raises:
        ParameterError: if either is not 12 non-negative values with a positive sum.
    """
    from scipy.spatial.distance import jensenshannon

    for name, values in (("histogram", histogram), ("reference", reference)):
        values = np.asarray(values, np.float64)
        if values.shape != (12,) or np.any(values < 0) or not values.sum() > 0:
            raise ParameterError(f"{name} must be 12 non-negative counts with a positive sum. Received: {name}={values}")
    return float(jensenshannon(histogram, reference, base=2))


def clip_voices(notes, n_steps):
    """One clip's voice measures.

    Args:
        notes: int array ``(n_notes, 3)``: MIDI pitch, start step, end step.
        n_steps: int >= 1; notes are cut to [0, n_steps).
    Returns:
        ``(voices_count, pitches, motions, clashes)``: int ``(MAX_VOICES_BIN + 1,)`` steps by number of
        sounding pitches (the last bin: that many or more), ``{voice name: [pitch per step where it
        sounds]}`` (`voices_by_rank`), `parallel_motions` between consecutive onset steps, and the int
        number of steps with 2+ pitches and a semitone clash (`has_semitone_clash`).
    """
    sounding = sounding_pitches(notes, n_steps)
    clashes = sum(len(p) >= 2 and has_semitone_clash(p) for p in sounding)
    voices_count = np.bincount(np.minimum([len(p) for p in sounding], MAX_VOICES_BIN), minlength=MAX_VOICES_BIN + 1)
    ranks = [voices_by_rank(p) for p in sounding]
    pitches = {name: [r[name] for r in ranks if name in r] for name in VOICE_NAMES}
    onset_steps = sorted({int(s) for s in np.asarray(notes).reshape(-1, 3)[:, 1] if s < n_steps})
    return voices_count, pitches, parallel_motions([ranks[t] for t in onset_steps]), clashes


def measure_set(clips, steps_per_quarter=4, tempo_bpm=120.0, reference_histogram=None, keys=True) -> dict:
    """The measures of the module docstring for one set of clips.

    Args:
        clips: list of ``(notes, n_steps)``: int ``(n_notes, 3)`` (MIDI pitch, start step,
            end step) and the clip's steps (int >= 1).
        steps_per_quarter: int >= 1; tempo_bpm: float > 0: a step lasts
            ``60 / (tempo_bpm * steps_per_quarter)`` seconds.
        reference_histogram: None, or a set's `pitch_class_histogram` to measure the distance to.
        keys: bool: run music21's key analysis (about 10 ms a clip).
    Returns:
        dict (JSON-safe): ``clips``, ``notes_per_second`` {mean, std}, ``voices_mean``,
        ``voices_share`` (list, share of steps with 0..5, 6+ pitches), ``voice_ranges``
        {voice: {p5, p95, min, max}}, ``pitch_class_histogram`` (12 floats),
        ``pitch_class_distance`` (None without a reference), ``key_correlation_mean``,
        ``key_consistent_share``, ``key_halves_agree_share`` (None without ``keys``),
        ``moving_pairs``, ``parallel_fifths_share``, ``parallel_octaves_share``, ``semitone_clash_share``
        (of the steps with two or more pitches; 0.0 if there is none), ``struck_clashes_per_100_notes``
        (0.0 without notes).
    Raises:
        ParameterError: for no clip, malformed notes or arguments out of range.
    """
    if not clips:
        raise ParameterError("A set needs at least one clip. Received: clips=[]")
    steps_per_quarter = integer("steps_per_quarter", steps_per_quarter, 1)
    step_s = 60.0 / (finite_number("tempo_bpm", tempo_bpm, 0.0) * steps_per_quarter)
    rates, voices_count, motions = [], np.zeros(MAX_VOICES_BIN + 1), dict.fromkeys(
        ("moving_pairs", "parallel_fifths", "parallel_octaves"), 0)
    pitches = {name: [] for name in VOICE_NAMES}
    correlations, halves, clashes, struck, n_notes = [], [], 0, 0, 0
    for notes, n_steps in clips:
        notes = check_notes(notes)
        rates.append(len(notes) / (integer("n_steps", n_steps, 1) * step_s))
        counts, clip_pitches, clip_motions, clip_clashes = clip_voices(notes, n_steps)
        voices_count += counts
        clashes += clip_clashes
        struck += struck_semitone_clashes(notes)
        n_notes += len(notes)
        for name in VOICE_NAMES:
            pitches[name] += clip_pitches[name]
        for name in motions:
            motions[name] += clip_motions[name]
        if keys and notes.size:
            correlations.append(analyse_key(notes, steps_per_quarter)[1])
            half = n_steps // 2
            first = notes[notes[:, 1] < half].copy()
            first[:, 2] = np.minimum(first[:, 2], half)
            second = notes[notes[:, 2] > half].copy()
            second[:, 1] = np.maximum(second[:, 1], half)
            halves.append(analyse_key(first, steps_per_quarter)[0] == analyse_key(second, steps_per_quarter)[0]
                          if first.size and second.size else False)
    histogram = pitch_class_histogram(clips)
    sounding_steps = voices_count[1:].sum()
    chord_steps = voices_count[2:].sum()
    return {
        "clips": len(clips),
        "notes_per_second": {"mean": float(np.mean(rates)), "std": float(np.std(rates))},
        "voices_mean": float(voices_count[1:] @ np.arange(1, MAX_VOICES_BIN + 1) / sounding_steps)
        if sounding_steps else 0.0,
        "voices_share": (voices_count / voices_count.sum()).round(4).tolist(),
        "voice_ranges": {
            name: {"p5": float(np.percentile(v, 5)), "p95": float(np.percentile(v, 95)), "min": int(min(v)),
                   "max": int(max(v))} if v else None
            for name, v in pitches.items()
        },
        "pitch_class_histogram": histogram.round(5).tolist(),
        "pitch_class_distance": None if reference_histogram is None or not histogram.sum()
        else pitch_class_distance(histogram, reference_histogram),
        "key_correlation_mean": float(np.mean(correlations)) if correlations else None,
        "key_consistent_share": float(np.mean(np.asarray(correlations) >= KEY_CORRELATION_THRESHOLD))
        if correlations else None,
        "key_halves_agree_share": float(np.mean(halves)) if halves else None,
        "moving_pairs": motions["moving_pairs"],
        "parallel_fifths_share": motions["parallel_fifths"] / motions["moving_pairs"] if motions["moving_pairs"] else 0.0,
        "parallel_octaves_share": motions["parallel_octaves"] / motions["moving_pairs"] if motions["moving_pairs"] else 0.0,
        "semitone_clash_share": float(clashes / chord_steps) if chord_steps else 0.0,
        "struck_clashes_per_100_notes": 100.0 * struck / n_notes if n_notes else 0.0,
    }


def table(results) -> str:
    """A Markdown table of `measure_set` results side by side: ``{set name: result}`` -> rows of measures."""
    names = list(results)

    def row(label, format_one):
        return f"| {label} | " + " | ".join(format_one(results[name]) for name in names) + " |"

    def percent(value):
        return "-" if value is None else f"{100 * value:.1f} %"

    lines = ["| measure | " + " | ".join(f"{name} (n={results[name]['clips']})" for name in names) + " |",
             "|---|" + "---|" * len(names)]
    lines.append(row("notes per second", lambda r: f"{r['notes_per_second']['mean']:.2f} +- {r['notes_per_second']['std']:.2f}"))
    lines.append(row("sounding pitches per step (mean where any)", lambda r: f"{r['voices_mean']:.2f}"))
    lines.append(row("steps with 4 sounding pitches", lambda r: percent(r["voices_share"][4])))
    lines.append(row("steps with none", lambda r: percent(r["voices_share"][0])))
    for name in VOICE_NAMES:
        lines.append(row(f"{name} range p5-p95 (min-max)", lambda r, n=name: "-" if r["voice_ranges"][n] is None else
                         "{p5:.0f}-{p95:.0f} ({min}-{max})".format(**r["voice_ranges"][n])))
    lines.append(row("pitch-class JS distance to the reference", lambda r: "-" if r["pitch_class_distance"] is None
                     else f"{r['pitch_class_distance']:.4f}"))
    lines.append(row("key correlation, mean", lambda r: "-" if r["key_correlation_mean"] is None
                     else f"{r['key_correlation_mean']:.3f}"))
    lines.append(row(f"clips with key correlation >= {KEY_CORRELATION_THRESHOLD}", lambda r: percent(r["key_consistent_share"])))
    lines.append(row("clips whose halves get the same key", lambda r: percent(r["key_halves_agree_share"])))
    lines.append(row("parallel fifths, share of moving voice pairs", lambda r: percent(r["parallel_fifths_share"])))
    lines.append(row("parallel octaves, share of moving voice pairs", lambda r: percent(r["parallel_octaves_share"])))
    lines.append(row("semitone clashes, share of steps with 2+ pitches", lambda r: percent(r["semitone_clash_share"])))
    lines.append(row("semitone clashes struck together, per 100 notes", lambda r: f"{r['struck_clashes_per_100_notes']:.2f}"))
    return "\n".join(lines)


# === Reading sets ===


def dataset_clips(data_dir, split, limit=None, written_key=True):
    """The clips of one split of a score-roll data set, decoded by its own transform.

    Args:
        data_dir: a folder written by ``preprocessing.run`` with ``representation: score_roll``.
        split: "train", "validation" or "test".
        limit: None or int >= 1: the first clips of the manifest only.
        written_key: True: each clip back in its piece's own key (a key-normalised data set's
            ``transposition`` undone); False: as stored, in the key the network sees.
    Returns:
        ``(clips, transform)``: a list of ``(notes, n_steps)`` and the data set's `ScoreRollTransform`.
    Raises:
        ParameterError: if the folder is not a score-roll data set or the split has no clip.
    """
    from preprocessing.dataset_folder import DatasetFolder
    from preprocessing.score_roll import ScoreRollTransform

    folder = DatasetFolder(data_dir)
    transform = folder.transform
    if not isinstance(transform, ScoreRollTransform):
        raise ParameterError(f"The data set's clips are not score rolls. Received: data_dir={str(data_dir)!r}")
    rows = folder.split_rows(split)[:limit]
    if not rows:
        raise ParameterError(f"The data set has no clip in this split. Received: split={split!r}")
    clips = []
    for row in rows:
        values = folder.read_clip(folder.clip_path(row["path"]))
        transposition = -(row["transposition"] or 0) if written_key else 0
        clips.append((transform.decode(values, transposition=transposition), values.shape[1]))
    return clips, transform


def midi_clips(folder, transform, n_steps):
    """Every ``.mid`` file of ``folder`` (or every file a glob pattern matches), sorted, as one clip of
    ``n_steps`` steps on ``transform``'s grid (the notes of a file are cut to them where measured).

    A file's notes are those of all its non-drum parts (`preprocessing.note_grid.grid_notes`), for a
    voice roll's transform too: the file a voice roll writes has no part for a voice that is silent
    (`ScoreRollTransform.notes_to_midi`), so its parts are not looked up by the voices' names.

    Args:
        folder: a folder, or a pattern such as ``outputs/roll/generated_*.mid`` (generate.sounds
            writes ``original_XX.mid`` beside ``generated_XX.mid``).
    Raises:
        ParameterError: if nothing matches, or a file cannot be parsed (naming it).
    """
    folder = Path(folder)
    paths = sorted(folder.glob("*.mid")) if folder.is_dir() else sorted(folder.parent.glob(folder.name))
    if not paths:
        raise ParameterError(f"No .mid file in the folder or matching the pattern. Received: folder={str(folder)!r}")
    return [(grid_notes(load_midi(path), transform.steps_per_quarter), n_steps) for path in paths]


def build_parser():
    """The CLI's ``ArgumentParser``."""
    parser = argparse.ArgumentParser(
        prog="python -m evaluation.symbolic",
        description="Symbolic measures (notes per second, voices, voice ranges, pitch classes, key, parallel "
        "fifths and octaves) of score-roll clips: splits of a data set, and folders of generated MIDI files.",
        epilog="example:\n  python -m evaluation.symbolic --data data/chorales_score_roll --sets test train",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--data", required=True, help="a score-roll data set folder (preprocessing.run output)")
    parser.add_argument("--sets", nargs="*", default=["test", "train"], help="its splits to measure (default: test train)")
    parser.add_argument("--midi", action="append", default=[], metavar="NAME=FOLDER",
                        help="also measure the .mid files of a folder, or a glob pattern ('outputs/x/generated_*.mid'), "
                        "one clip each, as set NAME")
    parser.add_argument("--reference", default="train", help="the set the pitch-class distance is measured to (default: train)")
    parser.add_argument("--limit", type=int, default=None, help="at most this many clips per split (default: all)")
    parser.add_argument("--no-keys", action="store_true", help="skip music21's key analysis (the slow part)")
    parser.add_argument("--json", default=None, help="also write the results to this JSON file")
    return parser


def evaluate(args) -> int:
    """Measure the sets of parsed arguments, print the table (stdout) and progress (stderr); returns 0."""
    started = time.perf_counter()
    sets = {}
    for split in args.sets:
        sets[split], transform = dataset_clips(args.data, split, args.limit)
    midi_names = [item.partition("=")[0] for item in args.midi]
    if args.reference not in sets and args.reference not in midi_names:
        sets[args.reference], transform = dataset_clips(args.data, args.reference, args.limit)
    n_steps = next(iter(sets.values()))[0][1]  # a data set's clip length: a generated clip's
    for item in args.midi:
        name, _, folder = item.partition("=")
        if not name or not folder:
            raise ParameterError(f"--midi takes NAME=FOLDER. Received: midi={item!r}")
        sets[name] = midi_clips(folder, transform, n_steps)
    reference = pitch_class_histogram(sets[args.reference])
    results = {}
    for name, clips in sets.items():
        print(f"measuring {name}: {len(clips)} clips", file=sys.stderr, flush=True)
        results[name] = measure_set(clips, transform.steps_per_quarter, transform.tempo_bpm, reference,
                                    keys=not args.no_keys)
    print(table(results))
    print(f"(pitch-class distance to {args.reference!r}; {time.perf_counter() - started:.1f} s)")
    if args.json:
        atomic_write_json(args.json, {"reference": args.reference, "results": results})
    return 0


def main(argv=None) -> int:
    """Run the CLI; returns the exit status (0 done, 2 bad input)."""
    return exit_status(evaluate, build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
