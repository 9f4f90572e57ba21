"""A training set of Bach chorales rendered to audio from music21's bundled corpus.

Each four-part chorale in ``music21.corpus.chorales`` (`corpus`) is exported
to MIDI (`score`), every part is given one General MIDI program (19, "Church
Organ", by default), and the result is rendered with FluidSynth, peak-normalised
to -1 dBFS, trimmed of trailing silence and saved as 16-bit PCM WAV
(`preprocessing.midi`, `render`). Pieces are split into train / validation /
test by a seeded hash of their id (`splits`), so a piece always lands in the
same split whichever other pieces fail. Each piece's score is also analysed
(`analysis`): its key by the Krumhansl-Schmuckler algorithm, its part count
and its rendering tempo. `build` runs it all in a pool of processes and writes
the output folder (`manifest`).

Command line: ``python -m preprocessing.chorales --out data/chorales``
(`preprocessing.chorales`).

Modules, each importing only those above it in this list:
    corpus     `ChoraleSource`, `list_chorales`: the pieces and their score files
    splits     `assign_split`: train / validation / test by a seeded hash
    score      `parse_score`, `score_to_midi`: music21 parsing and MIDI export
    analysis   `analyze_score`: key, mode, tonic, tempo, part count
    manifest   the output folder: file names, `ManifestRow`, the CSV and JSON files
    render     `render_piece`, `render_job`: one piece from score to files
    build      `build_chorales`, `ChoralesReport`: all pieces in a process pool
    instruments `build_instruments`, `parse_program`: one render per program, joined by instrument
"""

from preprocessing.recipes.chorales.analysis import DEFAULT_TEMPO_BPM, KEY_ANALYSIS_METHOD, ScoreAnalysis, analyze_score
from preprocessing.recipes.chorales.build import ChoralesReport, build_chorales
from preprocessing.recipes.chorales.corpus import ChoraleSource, list_chorales
from preprocessing.recipes.chorales.instruments import INSTRUMENTS, build_instruments, parse_program
from preprocessing.recipes.chorales.manifest import ANALYSIS_COLUMNS, FAILURE_COLUMNS, MANIFEST_COLUMNS, ManifestRow
from preprocessing.recipes.chorales.render import render_job, render_piece
from preprocessing.recipes.chorales.score import parse_score, score_to_midi
from preprocessing.recipes.chorales.splits import DEFAULT_FRACTIONS, SPLITS, assign_split

__all__ = [
    "ANALYSIS_COLUMNS",
    "ChoraleSource",
    "ChoralesReport",
    "DEFAULT_FRACTIONS",
    "DEFAULT_TEMPO_BPM",
    "FAILURE_COLUMNS",
    "INSTRUMENTS",
    "KEY_ANALYSIS_METHOD",
    "MANIFEST_COLUMNS",
    "ManifestRow",
    "SPLITS",
    "ScoreAnalysis",
    "analyze_score",
    "assign_split",
    "build_chorales",
    "build_instruments",
    "list_chorales",
    "parse_program",
    "parse_score",
    "render_job",
    "render_piece",
    "score_to_midi",
]
