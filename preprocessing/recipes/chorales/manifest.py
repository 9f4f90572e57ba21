"""The recipe's output folder: where each piece's files go, and the manifest, failures and settings files.

Layout::

    <out>/wav/<piece>.wav      mono, 16-bit PCM
    <out>/midi/<piece>.mid     the MIDI that was rendered (original programs)
    <out>/manifest.csv         `MANIFEST_COLUMNS`, one row per piece, sorted by piece
    <out>/failures.csv         `FAILURE_COLUMNS`: the pieces skipped in the last run
    <out>/recipe.json          the settings of the last run

Every file is written atomically. `preprocessing.sources.chorales_records`
reads this folder (naming the columns itself, so that reading a data set does
not import the recipe).
"""

import csv
import dataclasses
import io
from pathlib import Path

from common.atomic import atomic_write_json, atomic_write_text

# The score analysis' columns (`analyze_score`); manifests written before it lack them.
ANALYSIS_COLUMNS = ("key", "mode", "tonic", "tempo_bpm", "n_parts", "pickup_quarters")
MANIFEST_COLUMNS = ("piece", "split", "wav_path", "midi_path", "duration_s", "sample_rate") + ANALYSIS_COLUMNS
FAILURE_COLUMNS = ("piece", "reason")
MANIFEST_FILE = "manifest.csv"
FAILURES_FILE = "failures.csv"
RECIPE_FILE = "recipe.json"
WAV_DIR = "wav"
MIDI_DIR = "midi"


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
    pickup_quarters: float | None = None


def wav_path(piece) -> str:
    """The WAV file of ``piece``, relative to the output folder: ``"wav/<piece>.wav"``."""
    return f"{WAV_DIR}/{piece}.wav"


def midi_path(piece) -> str:
    """The MIDI file of ``piece``, relative to the output folder: ``"midi/<piece>.mid"``."""
    return f"{MIDI_DIR}/{piece}.mid"


def make_folders(out_dir):
    """Create ``out_dir`` with its ``wav/`` and ``midi/`` folders (existing ones are kept)."""
    out_dir = Path(out_dir)
    (out_dir / WAV_DIR).mkdir(parents=True, exist_ok=True)
    (out_dir / MIDI_DIR).mkdir(parents=True, exist_ok=True)


def _csv_text(columns, rows):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return buffer.getvalue()


def write_manifest(out_dir, rows, extra_columns=None) -> Path:
    """Write ``manifest.csv``: `MANIFEST_COLUMNS` and one line per `ManifestRow` (None as an empty cell).

    ``extra_columns``: None, or a dict of column name -> one value per row, written after
    `MANIFEST_COLUMNS` (the instrument of `preprocessing.recipes.chorales.instruments`).
    """

    def cell(value):
        return "" if value is None else value

    extra_columns = dict(extra_columns or {})
    columns = MANIFEST_COLUMNS + tuple(extra_columns)
    lines = [[cell(getattr(row, column)) for column in MANIFEST_COLUMNS] + [cell(values[i]) for values in extra_columns.values()]
             for i, row in enumerate(rows)]
    return atomic_write_text(Path(out_dir) / MANIFEST_FILE, _csv_text(columns, lines))


def write_failures(out_dir, failures) -> Path:
    """Write ``failures.csv`` from ``(piece, reason)`` pairs (only the header when there are none)."""
    return atomic_write_text(Path(out_dir) / FAILURES_FILE, _csv_text(FAILURE_COLUMNS, failures))


def write_recipe(out_dir, settings) -> Path:
    """Write ``recipe.json``: ``settings``, a JSON-safe dict, with sorted keys."""
    return atomic_write_json(Path(out_dir) / RECIPE_FILE, settings)
