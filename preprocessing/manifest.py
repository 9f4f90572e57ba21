"""The CSV tables of a preprocessed data set: the manifest (one row per clip), and the skipped and ignored files.

Only the columns and the text live here; where the files go is
`preprocessing.dataset_folder.DatasetFolder`'s business.

Manifest columns (`MANIFEST_COLUMNS`): ``clip_id``, ``split`` (one of `SPLITS`),
``path`` (the clip file, relative to the data set folder, POSIX style),
``source_path`` (the clip's audio or MIDI file: absolute and resolved; an older
manifest may hold one relative to the working directory it was built in, read
as written), ``piece``, ``offset_s`` and ``duration_s`` (seconds), ``min_db`` and
``max_db`` (the clip's value range, in the transform's unit), ``rms_dbfs`` (the
clip's RMS level in dBFS, `preprocessing.loudness.rms_dbfs`; "" for a piano roll),
``label`` and ``caption`` ("" for none), ``transposition`` (int semitones the piece
was moved by before its score roll was made, `preprocessing.keys`; "" when the
data set is not key-normalised).
"""

import csv
import io
from pathlib import Path

from common.errors import ParameterError

SPLITS = ("train", "validation", "test")
MANIFEST_COLUMNS = (
    "clip_id", "split", "path", "source_path", "piece", "offset_s", "duration_s", "min_db", "max_db",
    "rms_dbfs", "label", "caption", "transposition",
)  # fmt: skip
# Columns added after the first datasets were written: a manifest without them reads as ""
# (rms_dbfs as None).
OPTIONAL_MANIFEST_COLUMNS = ("rms_dbfs", "label", "caption", "transposition")
SKIPPED_COLUMNS = ("source_path", "reason")
IGNORED_COLUMNS = ("path", "reason")
_FLOAT_COLUMNS = ("offset_s", "duration_s", "min_db", "max_db")


def csv_text(columns, rows, what) -> str:
    """The CSV text (``\\n`` line ends, a header) of ``rows``, each a dict with exactly ``columns``.

    Args:
        columns: tuple of column names, in file order.
        rows: iterable of dicts.
        what: the table's name, for messages (``"manifest"``).
    Raises:
        ParameterError: naming the row, if a row lacks a column or has one more.
    """
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for i, row in enumerate(rows):
        missing = [c for c in columns if c not in row]
        extra = [c for c in row if c not in columns]
        if missing or extra:
            raise ParameterError(
                f"{what} row {i} must have exactly the columns {', '.join(columns)}. "
                f"Received: missing={missing}, extra={extra}"
            )
        writer.writerow(row)
    return buffer.getvalue()


def parse_manifest(path) -> list:
    """Read a manifest file back as a list of dicts.

    A manifest written before the optional columns existed (`OPTIONAL_MANIFEST_COLUMNS`)
    reads with ``""`` in them.

    Args:
        path: the manifest file (str or Path).
    Returns:
        One dict per clip with `MANIFEST_COLUMNS`: offset_s, duration_s, min_db and max_db
        floats, rms_dbfs a float or None (a piano roll, or a manifest older than the
        column), transposition an int or None (not key-normalised, or older than the column),
        the rest str (label and caption "" for none).
    Raises:
        ParameterError: naming the path, if the file is missing or lacks a required column.
    """
    path = Path(path)
    if not path.is_file():
        raise ParameterError(f"Manifest not found. Received: path={str(path)!r}")
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        required = [c for c in MANIFEST_COLUMNS if c not in OPTIONAL_MANIFEST_COLUMNS]
        missing = [c for c in required if c not in (reader.fieldnames or [])]
        if missing:
            raise ParameterError(f"Manifest lacks column(s) {', '.join(missing)}. Received: path={str(path)!r}")
        rows = []
        for row in reader:
            for key in _FLOAT_COLUMNS:
                row[key] = float(row[key])
            for key in OPTIONAL_MANIFEST_COLUMNS:
                row[key] = row.get(key) or ""
            row["rms_dbfs"] = float(row["rms_dbfs"]) if row["rms_dbfs"] else None
            row["transposition"] = int(row["transposition"]) if row["transposition"] else None
            rows.append(row)
    return rows
