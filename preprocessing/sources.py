"""Finding the input audio files and their train/validation/test split.

Three sources:
    chorales  ``<input_dir>/manifest.csv`` written by the chorales recipe
              (`preprocessing.chorales`): columns piece, split, wav_path, ...,
              paths relative to ``input_dir``; the split is taken from it.
    gtzan     ``<input_dir>/genres_original/<genre>/*.wav`` or
              ``<input_dir>/<genre>/*.wav``; label = genre.
    folder    every audio file under ``input_dir`` (recursive, extension
              case-insensitive; see `AUDIO_EXTENSIONS`); label = the parent
              folder, relative. With ``midi=True`` (MIDI representations: the
              piano roll), every .mid/.midi file instead.

Audio files are those whose extension belongs to a format that soundfile
(libsndfile) reads on this machine: `audio_extensions` maps the names of
``soundfile.available_formats()`` to their usual extensions (WAV .wav, AIFF
.aiff/.aif/.aifc, AU .au/.snd, FLAC, OGG .ogg/.oga/.opus, MP3, ...). Hidden
files (name starting with ".") are never taken. For gtzan and folder,
`scan_sources` also lists every other file under ``input_dir`` with the reason
it was not taken (``"not an audio format soundfile reads: .m4a"``), so that
nothing is ignored silently.

The chorales also give each piece's MIDI file (column midi_path) as
``SourceRecord.midi_path``, its pickup (column pickup_quarters) and its key
(columns tonic and mode, ``SourceRecord.key``: what a key-normalised score roll
transposes by, `preprocessing.keys`).

Labels (``SourceRecord.label``, for class-conditioned models) are chosen by
``label``: ``"auto"`` (the default) takes the chorales' ``mode`` column (major
or minor, from the recipe's key analysis), the gtzan genre or the folder's
parent folder; for the chorales any other column name of the recipe's
manifest (``key``, ``tonic``, ...) takes that column; None gives no labels.
Captions (``SourceRecord.caption``, for text-conditioned models) are composed
from the same metadata by `preprocessing.captions`, whatever ``label`` is.

For gtzan and folder each file is one piece, and its split is decided by a
stable hash (see `hash_split`), so adding files never moves the others.
"""

import csv
import dataclasses
import hashlib
import json
import re
import warnings
from pathlib import Path

import soundfile

from common.errors import ParameterError
from preprocessing.captions import chorale_caption, folder_caption, genre_caption, instrument_name

SOURCES = ("chorales", "gtzan", "folder")
SPLITS = ("train", "validation", "test")
# soundfile format name -> the file extensions it usually has. Formats without an
# extension of their own are left out: RAW is headerless, and .mat (MAT4/MAT5),
# .htk (HTK), .mpc (MPC2K), .xi (XI) and .sds (SDS) files are more often
# something else than audio (.mpc is usually Musepack, which libsndfile cannot read).
SOUNDFILE_FORMAT_EXTENSIONS = {
    "WAV": (".wav", ".wave"),
    "WAVEX": (".wav",),
    "RF64": (".rf64",),
    "W64": (".w64",),
    "AIFF": (".aiff", ".aif", ".aifc"),
    "AU": (".au", ".snd"),
    "CAF": (".caf",),
    "FLAC": (".flac",),
    "OGG": (".ogg", ".oga", ".opus"),
    "MP3": (".mp3",),
    "IRCAM": (".sf",),
    "NIST": (".sph", ".nist"),
    "VOC": (".voc",),
    "SVX": (".iff", ".svx", ".8svx"),
    "PAF": (".paf",),
    "AVR": (".avr",),
    "SD2": (".sd2",),
    "PVF": (".pvf",),
    "WVE": (".wve",),
}
MIDI_EXTENSIONS = (".mid", ".midi")
HIDDEN_REASON = "hidden file"
CHORALES_COLUMNS = ("piece", "split", "wav_path")
# The chorales recipe's key-analysis columns (`preprocessing.recipes.chorales.manifest.ANALYSIS_COLUMNS`),
# named here so that reading a dataset does not import the recipe.
CHORALES_ANALYSIS_COLUMNS = ("key", "mode", "tonic", "tempo_bpm", "n_parts", "pickup_quarters")
LABEL_AUTO = "auto"
CHORALES_DEFAULT_LABEL = "mode"


def audio_extensions(formats=None) -> tuple:
    """The file extensions of the audio formats soundfile (libsndfile) reads.

    Args:
        formats: iterable of soundfile format names (``"WAV"``, ``"AIFF"``, ...);
            None (default) takes ``soundfile.available_formats()``, those of the
            installed libsndfile (MP3 since libsndfile 1.1). Names without a
            known extension (see `SOUNDFILE_FORMAT_EXTENSIONS`) add none.
    Returns:
        tuple of str, lower-case extensions with their dot, sorted and unique,
        e.g. ``(".aif", ".aifc", ".aiff", ".au", ...)``.
    """
    if formats is None:
        formats = soundfile.available_formats()
    return tuple(sorted({ext for name in formats for ext in SOUNDFILE_FORMAT_EXTENSIONS.get(str(name).upper(), ())}))


AUDIO_EXTENSIONS = audio_extensions()


@dataclasses.dataclass(frozen=True)
class SourceRecord:
    """One input audio file.

    Attributes:
        path: the audio file (it may not exist; the pipeline reports that).
        piece: the piece's name (the chorale name, or the file's relative path
            without extension).
        split: "train", "validation" or "test".
        label: the class label chosen by ``label`` (see the module docstring):
            by default the mode (chorales), the genre (gtzan) or the parent
            folder (folder); None for none.
        clip_prefix: filesystem-safe, unique among the records; clip ids are
            ``<clip_prefix>__<index:04d>``.
        midi_path: the piece's MIDI file when there is one (chorales; a MIDI
            folder, where it equals ``path``), else None.
        caption: a text caption of the file (`preprocessing.captions`), "" for none.
        pickup_quarters: the score's pickup (anacrusis) in quarter notes, 0 for none, or
            None when unknown (chorales: the manifest's ``pickup_quarters`` column; a
            manifest older than it, and other sources, give None). A roll on a
            metrical grid starts its clips on the bar lines it gives.
        key: the piece's key ``"<tonic> <mode>"`` (``"G minor"``, ``"Bb major"``), or None when
            unknown (chorales: the manifest's ``tonic`` and ``mode`` columns, the recipe's key
            analysis; other sources give None, and a key-normalised score roll analyses the MIDI).
    """

    path: Path
    piece: str
    split: str
    label: str | None = None
    clip_prefix: str = ""
    midi_path: Path | None = None
    caption: str = ""
    pickup_quarters: float | None = None
    key: str | None = None


def hash_split(key, validation_fraction, test_fraction, seed=0) -> str:
    """The split of ``key``, stable across runs and machines.

    ``u = int(sha1(f"{seed}:{key}")[:16 hex], 16) / 2**64`` in [0, 1); test if
    ``u < test_fraction``, validation if ``u < test_fraction + validation_fraction``,
    else train.

    Args:
        key: str, e.g. a relative path in POSIX form.
        validation_fraction, test_fraction: floats in [0, 1), summing to < 1.
        seed: int; a different seed gives an independent split.
    Returns:
        "train", "validation" or "test".
    """
    digest = hashlib.sha1(f"{seed}:{key}".encode("utf-8")).hexdigest()
    u = int(digest[:16], 16) / 2.0**64
    if u < test_fraction:
        return "test"
    if u < test_fraction + validation_fraction:
        return "validation"
    return "train"


def _safe_name(name) -> str:
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", str(name).replace("/", "-")).strip("._-")
    return safe or "clip"


def _with_unique_prefixes(records):
    """Give each record a filesystem-safe clip prefix; collisions get a short hash of the path."""
    prefixes = [_safe_name(r.piece) for r in records]
    counts = {}
    for p in prefixes:
        counts[p] = counts.get(p, 0) + 1
    out = []
    for record, prefix in zip(records, prefixes):
        if counts[prefix] > 1:
            prefix = f"{prefix}-{hashlib.sha1(str(record.path).encode('utf-8')).hexdigest()[:8]}"
        out.append(dataclasses.replace(record, clip_prefix=prefix))
    return out


def _require_dir(input_dir) -> Path:
    input_dir = Path(input_dir)
    if not input_dir.is_dir():
        raise ParameterError(f"Input folder not found. Received: input_dir={str(input_dir)!r}")
    return input_dir


def _gtzan_root(input_dir):
    return input_dir / "genres_original" if (input_dir / "genres_original").is_dir() else input_dir


def _files(folder, recursive):
    pattern = "**/*" if recursive else "*"
    return sorted(p for p in folder.glob(pattern) if p.is_file())


def _not_audio_reason(path, extensions):
    """Why ``path`` is not taken as an input file by its name alone, or None if it may be."""
    if path.name.startswith("."):
        return HIDDEN_REASON
    if path.suffix.lower() not in extensions:
        kind = "a MIDI file" if extensions == MIDI_EXTENSIONS else "an audio format soundfile reads"
        return f"not {kind}: {path.suffix or '(no extension)'}"
    return None


def _audio_files(folder, recursive, extensions=AUDIO_EXTENSIONS):
    return [p for p in _files(folder, recursive) if _not_audio_reason(p, extensions) is None]


def _check_label(source, label):
    """Raise ParameterError unless ``label`` is None, "auto", or (chorales only) a non-empty column name."""
    if label is None or label == LABEL_AUTO:
        return
    if not isinstance(label, str) or not label:
        raise ParameterError(f"label must be 'auto', null or a column name. Received: label={label!r}")
    if source != "chorales":
        given = "the genre" if source == "gtzan" else "the parent folder"
        raise ParameterError(
            f"label names a column of the chorales manifest, so it is only used with source: chorales; "
            f"for source: {source} use 'auto' ({given}) or null (none). Received: label={label!r}"
        )


def _recipe_instrument(input_dir):
    """The instrument name of the program in the chorales' ``recipe.json``, or None if unknown."""
    try:
        program = json.loads((input_dir / "recipe.json").read_text(encoding="utf-8"))["program"]
        return instrument_name(program)
    except (OSError, ValueError, KeyError, TypeError):
        return None  # no (readable) recipe: the caption leaves the instrument out


def _chorale_row_caption(row, instrument, line, manifest):
    """The caption of one chorales-manifest row; missing analysis cells are left out."""

    def number(column, kind):
        text = (row.get(column) or "").strip()
        if not text:
            return None
        try:
            return kind(float(text)) if kind is int else kind(text)
        except ValueError:
            raise ParameterError(
                f"Chorales manifest line {line}: {column} must be a number. "
                f"Received: {column}={text!r}, manifest={str(manifest)!r}"
            ) from None

    tempo_bpm, n_parts = number("tempo_bpm", float), number("n_parts", int)
    try:
        return chorale_caption(
            key=(row.get("key") or "").strip() or None, instrument=instrument, tempo_bpm=tempo_bpm, n_parts=n_parts
        )
    except ParameterError as err:
        raise ParameterError(f"Chorales manifest line {line}: {err} (manifest={str(manifest)!r})") from None


def _pickup_quarters(row, line, manifest):
    """The row's ``pickup_quarters`` as a float >= 0, or None when the cell is empty or missing."""
    text = (row.get("pickup_quarters") or "").strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value >= 0 or value == float("inf"):
        raise ParameterError(
            f"Chorales manifest line {line}: pickup_quarters must be a number >= 0. "
            f"Received: pickup_quarters={text!r}, manifest={str(manifest)!r}"
        )
    return value


def _key(row, line, manifest):
    """The row's key ``"<tonic> <mode>"`` from its ``tonic`` and ``mode`` cells, or None when both are empty or missing."""
    tonic, mode = ((row.get(column) or "").strip() for column in ("tonic", "mode"))
    if not tonic and not mode:
        return None
    if not tonic or mode not in ("major", "minor"):
        raise ParameterError(
            f"Chorales manifest line {line}: a key needs a tonic and a mode, major or minor. "
            f"Received: tonic={tonic!r}, mode={mode!r}, manifest={str(manifest)!r}"
        )
    return f"{tonic} {mode}"


def chorales_records(input_dir, label=LABEL_AUTO):
    """Records from the chorales recipe's ``manifest.csv``; see the module docstring.

    Args:
        input_dir: the recipe's output folder (``manifest.csv``, ``wav/``, ``recipe.json``).
        label: "auto" (the ``mode`` column when the manifest has it, else no
            labels, with a warning), the name of a manifest column, or None.
            An empty cell gives the label None.
    Returns:
        list of `SourceRecord` in manifest order, with ``caption`` composed by
        `preprocessing.captions.chorale_caption` from the key-analysis columns
        and the program in ``recipe.json`` (what is missing is left out).
    Raises:
        ParameterError: if the folder or manifest is missing, lacks a required
            column or the column ``label`` names, names an unknown split, holds
            a malformed key or number, or lists no pieces.
    """
    _check_label("chorales", label)
    input_dir = _require_dir(input_dir)
    manifest = input_dir / "manifest.csv"
    if not manifest.is_file():
        raise ParameterError(
            f"Chorales manifest not found; render it with the chorales recipe first. Received: manifest={str(manifest)!r}"
        )
    instrument = _recipe_instrument(input_dir)
    records = []
    with manifest.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        columns = reader.fieldnames or []
        missing = [c for c in CHORALES_COLUMNS if c not in columns]
        if missing:
            raise ParameterError(
                f"Chorales manifest lacks column(s) {', '.join(missing)}. Received: manifest={str(manifest)!r}"
            )
        rerun = (
            f"it predates the key analysis: run `python -m preprocessing.chorales --out {input_dir}` "
            "again, which adds the columns and keeps the rendered audio"
        )
        if label == LABEL_AUTO:
            label = CHORALES_DEFAULT_LABEL if CHORALES_DEFAULT_LABEL in columns else None
            if label is None:
                warnings.warn(
                    f"Chorales manifest {str(manifest)!r} has no column 'mode', so the clips get no labels; {rerun}.",
                    stacklevel=2,
                )
        elif label is not None and label not in columns:
            hint = f"; {rerun}" if label in CHORALES_ANALYSIS_COLUMNS else ""
            raise ParameterError(
                f"Chorales manifest has no column {label!r} to take labels from (columns: {', '.join(columns)}){hint}. "
                f"Received: label={label!r}, manifest={str(manifest)!r}"
            )
        for line, row in enumerate(reader, start=2):
            if row["split"] not in SPLITS:
                raise ParameterError(
                    f"Chorales manifest line {line}: split must be one of {', '.join(SPLITS)}. "
                    f"Received: split={row['split']!r}"
                )
            midi_path = input_dir / row["midi_path"] if row.get("midi_path") else None
            value = (row.get(label) or "").strip() if label is not None else ""
            records.append(
                SourceRecord(
                    path=input_dir / row["wav_path"],
                    piece=row["piece"],
                    split=row["split"],
                    label=value or None,
                    midi_path=midi_path,
                    caption=_chorale_row_caption(row, instrument, line, manifest),
                    pickup_quarters=_pickup_quarters(row, line, manifest),
                    key=_key(row, line, manifest),
                )
            )
    if not records:
        raise ParameterError(f"Chorales manifest lists no pieces. Received: manifest={str(manifest)!r}")
    return _with_unique_prefixes(records)


def gtzan_records(input_dir, genres=(), validation_fraction=0.1, test_fraction=0.1, seed=0, label=LABEL_AUTO):
    """Records for the GTZAN genre collection; see the module docstring.

    Args:
        input_dir: the GTZAN folder (holding ``genres_original/`` or the genre folders).
        genres: genre names to use; empty means all genre folders found.
        label: "auto" (label = genre) or None (no labels).
    Returns:
        list of `SourceRecord`; caption ``"a <genre> recording"`` (`preprocessing.captions.genre_caption`).
    Raises:
        ParameterError: if ``label`` is neither, the folder is missing, a
            requested genre is not there, or no audio is found.
    """
    _check_label("gtzan", label)
    input_dir = _require_dir(input_dir)
    root = _gtzan_root(input_dir)
    available = sorted(p.name for p in root.iterdir() if p.is_dir() and _audio_files(p, recursive=False))
    if not genres:
        genres = available
    for genre in genres:
        if genre not in available:
            raise ParameterError(
                f"Genre folder with audio not found under {str(root)!r} (available: {', '.join(available) or 'none'}). "
                f"Received: genre={genre!r}"
            )
    records = []
    for genre in genres:
        for path in _audio_files(root / genre, recursive=False):
            relative = path.relative_to(root).as_posix()
            records.append(
                SourceRecord(
                    path=path,
                    piece=path.stem,
                    split=hash_split(relative, validation_fraction, test_fraction, seed),
                    label=None if label is None else genre,
                    caption=genre_caption(genre),
                )
            )
    if not records:
        raise ParameterError(f"No audio files found. Received: input_dir={str(input_dir)!r}")
    return _with_unique_prefixes(records)


def folder_records(input_dir, validation_fraction=0.1, test_fraction=0.1, seed=0, midi=False, label=LABEL_AUTO):
    """Records for every audio file (``midi``: every MIDI file) under ``input_dir``; see the module docstring.

    Args:
        label: "auto" (label = the parent folder relative to ``input_dir``, None
            for a file directly in it) or None (no labels).
    Returns:
        list of `SourceRecord`; caption ``"<parent folder> music"`` (`preprocessing.captions.folder_caption`).
    Raises:
        ParameterError: if ``label`` is neither, the folder is missing, or it holds no such file.
    """
    _check_label("folder", label)
    input_dir = _require_dir(input_dir)
    extensions = MIDI_EXTENSIONS if midi else AUDIO_EXTENSIONS
    records = []
    for path in _audio_files(input_dir, recursive=True, extensions=extensions):
        relative = path.relative_to(input_dir)
        parent = relative.parent.as_posix()
        parent = None if parent == "." else parent
        records.append(
            SourceRecord(
                path=path,
                piece=relative.with_suffix("").as_posix(),
                split=hash_split(relative.as_posix(), validation_fraction, test_fraction, seed),
                label=None if label is None else parent,
                midi_path=path if midi else None,
                caption=folder_caption(parent),
            )
        )
    if not records:
        raise ParameterError(
            f"No {'MIDI' if midi else 'audio'} files ({', '.join(extensions)}) found. Received: input_dir={str(input_dir)!r}"
        )
    return _with_unique_prefixes(records)


def ignored_files(source, input_dir, records, midi=False) -> list:
    """Every file under ``input_dir`` that is not one of ``records``, with the reason.

    Args:
        source: "chorales", "gtzan" or "folder".
        input_dir: the folder the records were discovered in.
        records: the `SourceRecord` list `discover_sources` gave for it.
        midi: True if the records are MIDI files (``discover_sources(midi=True)``).
    Returns:
        list of ``(path, reason)``, ``path`` a Path under ``input_dir``, sorted by
        path. Reasons: ``"hidden file"``, ``"not an audio format soundfile reads:
        .m4a"`` (``midi``: ``"not a MIDI file: .wav"``), and for gtzan
        ``"genre not chosen: <genre>"`` or ``"not in a genre folder"``. Empty for
        the chorales, whose manifest (not the folder) lists the inputs.
    """
    if source == "chorales":
        return []
    input_dir = Path(input_dir)
    extensions = MIDI_EXTENSIONS if midi else AUDIO_EXTENSIONS
    taken = {Path(r.path) for r in records}
    root = _gtzan_root(input_dir)
    ignored = []
    for path in _files(input_dir, recursive=True):
        if path in taken:
            continue
        reason = _not_audio_reason(path, extensions)
        if reason is None:  # an audio file the folder source would have taken: gtzan's layout left it out
            in_genre_folder = path.parent.parent == root
            reason = f"genre not chosen: {path.parent.name}" if in_genre_folder else "not in a genre folder"
        ignored.append((path, reason))
    return ignored


def discover_sources(
    source, input_dir, genres=(), validation_fraction=0.1, test_fraction=0.1, seed=0, midi=False, label=LABEL_AUTO
):
    """The records of ``source`` ("chorales", "gtzan" or "folder") under ``input_dir``.

    ``midi`` makes a folder source list MIDI files instead of audio files;
    ``label`` chooses the labels (see the module docstring).

    Returns:
        list of `SourceRecord`, in a deterministic order.
    Raises:
        ParameterError: for an unknown source, or as raised by the source's reader.
    """
    if source == "chorales":
        return chorales_records(input_dir, label=label)
    if source == "gtzan":
        return gtzan_records(input_dir, genres, validation_fraction, test_fraction, seed, label=label)
    if source == "folder":
        return folder_records(input_dir, validation_fraction, test_fraction, seed, midi=midi, label=label)
    raise ParameterError(f"Unknown source (known: {', '.join(SOURCES)}). Received: source={source!r}")


def scan_sources(
    source, input_dir, genres=(), validation_fraction=0.1, test_fraction=0.1, seed=0, midi=False, label=LABEL_AUTO
):
    """`discover_sources` and `ignored_files` in one call (arguments as `discover_sources`).

    Returns:
        ``(records, ignored)``: the list of `SourceRecord`, and the list of
        ``(path, reason)`` of the files under ``input_dir`` not taken.
    Raises:
        ParameterError: as `discover_sources`.
    """
    records = discover_sources(source, input_dir, genres, validation_fraction, test_fraction, seed, midi=midi, label=label)
    return records, ignored_files(source, input_dir, records, midi=midi)
