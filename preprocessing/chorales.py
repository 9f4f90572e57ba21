"""A training set of Bach chorales rendered to audio from music21's bundled corpus: the command line.

The recipe itself is the package `preprocessing.recipes.chorales` (corpus,
splits, score analysis, rendering, manifest, the build); MIDI rendering is
`preprocessing.midi`. This module parses the arguments, runs
`build_chorales` and prints its report.

Each four-part chorale in ``music21.corpus.chorales`` is exported to MIDI, every
part is given one General MIDI program (19, "Church Organ", by default), and the
result is rendered with FluidSynth through ``pretty_midi``, peak-normalised to
-1 dBFS, trimmed of trailing silence and saved as 16-bit PCM WAV. Pieces are
split into train / validation / test by a seeded hash of their id, so a piece
always lands in the same split whichever other pieces fail.

Run (about 3 to 4 minutes on 2 CPU cores at 16 kHz)::

    python -m preprocessing.chorales --out data/chorales

The chorales on several instruments, labelled by instrument (one render per program, then
one folder of links and a captions file: `preprocessing.recipes.chorales.instruments`)::

    python -m preprocessing.chorales --out data/chorales_instruments --programs organ piano

Output folder::

    <out>/wav/<piece>.wav      mono, 16-bit PCM, peak -1 dBFS
    <out>/midi/<piece>.mid     the MIDI that was rendered (original programs)
    <out>/manifest.csv         piece,split,wav_path,midi_path,duration_s,sample_rate,
                               key,mode,tonic,tempo_bpm,n_parts  (see `analyze_score`,
                               in `preprocessing.recipes.chorales.analysis`)
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
import sys

from common.cli import exit_status
from common.errors import ParameterError
from preprocessing.midi import DEFAULT_MAX_DURATION_S, DEFAULT_PROGRAM, DEFAULT_SAMPLE_RATE, SYSTEM_SOUNDFONT
from preprocessing.recipes.chorales import SPLITS, build_chorales
from preprocessing.recipes.chorales.build import DEFAULT_TIMEOUT_S, DEFAULT_WORKERS
from preprocessing.recipes.chorales.instruments import INSTRUMENTS, build_instruments, parse_program
from preprocessing.recipes.chorales.manifest import FAILURES_FILE, MANIFEST_FILE
from preprocessing.recipes.chorales.splits import DEFAULT_FRACTIONS


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
        "--programs", nargs="+", default=None, metavar="NAME[=PROGRAM]",
        help=f"render once per instrument and join them in --out, one folder each, with captions.csv "
             f"(known names: {', '.join(f'{k}={v}' for k, v in INSTRUMENTS.items())}; others as NAME=PROGRAM)",
    )
    parser.add_argument("--renders", default=None,
                        help="with --programs: folder of the per-instrument renders (default <out>_renders)")
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
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS, help="worker processes")
    parser.add_argument("--overwrite", action="store_true", help="render pieces whose WAV already exists")
    parser.add_argument(
        "--max-duration-s", type=float, default=DEFAULT_MAX_DURATION_S, help="skip pieces longer than this, in seconds"
    )
    parser.add_argument(
        "--timeout-s", type=float, default=DEFAULT_TIMEOUT_S,
        help="skip a piece whose rendering takes longer, in seconds",
    )
    return parser.parse_args(argv)


def build_options(args) -> dict:
    """`build_chorales`'s keyword arguments from the parsed arguments, but ``program`` and the folder."""
    return dict(sample_rate=args.sample_rate, soundfont=args.soundfont, seed=args.seed, fractions=args.fractions,
                limit=args.limit, workers=args.workers, overwrite=args.overwrite, max_duration_s=args.max_duration_s,
                timeout_s=args.timeout_s)


def instruments_from_args(args) -> int:
    """``--programs``: run `build_instruments` and print one line per instrument to stderr.

    Returns:
        0 if every piece of every instrument is in place, 1 if some were skipped (listed).
    Raises:
        ParameterError: for a bad program, a repeated name, or anything `build_chorales` raises.
    """
    if args.program != DEFAULT_PROGRAM:
        raise ParameterError(f"--programs names every instrument; leave out --program. Received: program={args.program}")
    programs = [parse_program(text) for text in args.programs]
    reports = build_instruments(args.out, programs, args.renders, **build_options(args))
    failed = False
    for name, report in reports.items():
        print(f"{name}: {len(report.rows)} pieces linked in {args.out}/{name}/ from {report.out_dir} "
              f"({len(report.rendered)} rendered, {len(report.resumed)} kept, {len(report.failures)} skipped) "
              f"in {report.wall_s:.1f} s", file=sys.stderr)
        for piece, reason in report.failures:
            print(f"  {piece}: {reason}", file=sys.stderr)
        failed = failed or bool(report.failures)
    print(f"Captions: {args.out}/captions.csv. Next: python -m preprocessing.run --config "
          f"configs/chorales_instruments_stft.yaml", file=sys.stderr)
    return 1 if failed else 0


def render_from_args(args) -> int:
    """Run `build_chorales` (with ``--programs``: `instruments_from_args`) and print the report to stderr.

    Returns:
        0 if every piece is in the manifest, 1 if some were skipped (listed).
    Raises:
        ParameterError: for an invalid argument, a missing SoundFont or FluidSynth.
    """
    if args.programs:
        return instruments_from_args(args)
    report = build_chorales(args.out, program=args.program, **build_options(args))
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
    print(f"Manifest: {report.out_dir / MANIFEST_FILE}", file=sys.stderr)
    if report.failures:
        print(f"Skipped ({report.out_dir / FAILURES_FILE}):", file=sys.stderr)
        for piece, reason in report.failures:
            print(f"  {piece}: {reason}", file=sys.stderr)
        return 1
    return 0


def main(argv=None) -> int:
    """Command-line entry point. Returns 0 if every piece is rendered, 1 if some were skipped, 2 for bad arguments."""
    return exit_status(render_from_args, _parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
