"""Text captions of source files, for text-conditioned generation (classifier-free guidance).

A caption is one English phrase per source file; every clip cut from the file
gets it (column ``caption`` of the dataset's manifest, `preprocessing.manifest`).
It comes either from a captions file (``captions_file`` in the preprocessing
config, see `read_captions_file`) or is composed from the source's metadata by
the pure functions below. The templates, an optional part in brackets:

    chorales  "a[n] <N>-part Bach chorale[ in <key>][, played on <instrument>][, <T> bpm]"
              e.g. "a four-part Bach chorale in G minor, played on church organ, 120 bpm"
              <N>: the score's part count in words; <key>: the recipe's key
              analysis with flats and sharps spelled out ("B-flat major");
              <instrument>: the General MIDI name of the rendering program,
              lower case (program 19: "church organ"); <T>: the rendering
              tempo in quarter notes per minute, rounded.
    gtzan     "a[n] <genre> recording", e.g. "a blues recording"
    folder    "<parent folder> music", the folder's path with ``/``, ``_`` and
              ``-`` read as spaces, e.g. "baroque organ music" for
              ``baroque/organ/x.wav``; a file directly in ``input_dir`` gets "".

An empty caption means "no caption" (the unconditional case).
"""

import csv
import dataclasses
import io
import math
import re
from pathlib import Path

from common.errors import ParameterError

CAPTIONS_FILE_COLUMNS = ("file", "caption")
MODES = ("major", "minor")

_NUMBER_WORDS = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen",
)  # fmt: skip
_TONIC = re.compile(r"^([A-G])(#{1,2}|b{1,2})?$")
_ACCIDENTAL_WORDS = {"": "", "#": "-sharp", "##": "-double-sharp", "b": "-flat", "bb": "-double-flat"}


def _article(word) -> str:
    """"an" before a word starting with a vowel letter or a number read with one (8, 11, 18, 80...), else "a"."""
    return "an" if word[:1].lower() in "aeiou" or re.match(r"^(8|11|18)(\D|$)|^8\d", word) else "a"


def spoken_key(key) -> str:
    """A key such as ``"Bb major"`` or ``"f# minor"`` as words: ``"B-flat major"``, ``"F-sharp minor"``.

    Args:
        key: str ``"<tonic> <mode>"``: tonic a letter A-G (either case) followed by
            up to two ``#`` or ``b``; mode ``major`` or ``minor``.
    Returns:
        The key with a capital letter and the accidental spelled out.
    Raises:
        ParameterError: if ``key`` does not have that form.
    """
    parts = key.split() if isinstance(key, str) else []
    match = _TONIC.match(parts[0][:1].upper() + parts[0][1:]) if len(parts) == 2 else None
    if match is None or parts[1] not in MODES:
        raise ParameterError(f"A key must look like 'G minor' or 'Bb major'. Received: key={key!r}")
    letter, accidental = match.group(1), match.group(2) or ""
    return f"{letter}{_ACCIDENTAL_WORDS[accidental]} {parts[1]}"


def instrument_name(program) -> str:
    """The General MIDI instrument name of ``program``, lower case (``19`` -> ``"church organ"``).

    Args:
        program: int in [0, 127], a 0-based General MIDI program.
    Raises:
        ParameterError: if ``program`` is not such an int.
    References:
        MIDI Manufacturers Association, "General MIDI Level 1" (1991), the
        program table, via ``pretty_midi.program_to_instrument_name``.
    """
    if isinstance(program, bool) or not isinstance(program, int) or not 0 <= program <= 127:
        raise ParameterError(f"program must be an integer in [0, 127]. Received: program={program!r}")
    import pretty_midi

    return pretty_midi.program_to_instrument_name(program).lower()


def chorale_caption(key=None, instrument=None, tempo_bpm=None, n_parts=None) -> str:
    """The caption of a rendered chorale (template in the module docstring); missing facts are left out.

    Args:
        key: str like ``"G minor"`` (see `spoken_key`), or None / "" if unknown.
        instrument: str, the instrument it was rendered on (``"church organ"``), or None / "".
        tempo_bpm: number > 0, quarter notes per minute, or None.
        n_parts: int >= 1, the score's number of parts (voices), or None.
    Returns:
        e.g. ``"a four-part Bach chorale in G minor, played on church organ, 120 bpm"``.
    Raises:
        ParameterError: for a malformed ``key``, ``tempo_bpm`` <= 0 or not finite,
            or ``n_parts`` not an int >= 1.
    """
    if n_parts is None:
        noun = "Bach chorale"
    else:
        if isinstance(n_parts, bool) or not isinstance(n_parts, int) or n_parts < 1:
            raise ParameterError(f"n_parts must be an integer >= 1. Received: n_parts={n_parts!r}")
        count = _NUMBER_WORDS[n_parts] if n_parts < len(_NUMBER_WORDS) else str(n_parts)
        noun = f"{count}-part Bach chorale"
    caption = f"{_article(noun)} {noun}"  # "an eight-part", "a four-part"
    if key:
        caption += f" in {spoken_key(key)}"
    if instrument:
        caption += f", played on {instrument}"
    if tempo_bpm is not None:
        is_number = isinstance(tempo_bpm, (int, float)) and not isinstance(tempo_bpm, bool)
        if not is_number or not math.isfinite(tempo_bpm) or tempo_bpm <= 0:
            raise ParameterError(f"tempo_bpm must be a finite number > 0. Received: tempo_bpm={tempo_bpm!r}")
        caption += f", {round(tempo_bpm):d} bpm"
    return caption


def genre_caption(genre) -> str:
    """``"a[n] <genre> recording"`` for a GTZAN genre (``"blues"`` -> ``"a blues recording"``); "" for None / ""."""
    if not genre:
        return ""
    return f"{_article(genre)} {genre} recording"


def folder_caption(folder) -> str:
    """``"<folder> music"`` for a parent folder (``"baroque/organ"`` -> ``"baroque organ music"``); "" for None / ""."""
    words = " ".join(re.split(r"[/_\-\s]+", folder or "")).strip()
    return f"{words} music" if words else ""


# ---------------------------------------------------------------------------
# Captions files
# ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class CaptionsFile:
    """The captions of a captions file, by resolved absolute path.

    Attributes:
        path: the CSV read.
        captions: dict, resolved absolute ``Path`` of a listed file -> its caption (str, may be "").
    """

    path: Path
    captions: dict

    def caption_for(self, *paths):
        """The caption of the first of ``paths`` that the file lists, or None if none is listed."""
        for path in paths:
            if path is not None:
                caption = self.captions.get(Path(path).resolve())
                if caption is not None:
                    return caption
        return None


def read_captions_file(path, input_dir) -> CaptionsFile:
    """Read a MusicCaps-style captions CSV.

    The CSV is UTF-8 with a header holding at least the columns ``file`` and
    ``caption`` (others, such as MusicCaps' ``ytid`` or ``aspect_list``, are
    ignored). ``file`` is a path relative to ``input_dir``, or absolute; the
    caption may be empty. A file may be listed more than once only with the
    same caption.

    Args:
        path: str or Path of the CSV.
        input_dir: str or Path, the folder relative ``file`` entries are read against.
    Returns:
        A `CaptionsFile`.
    Raises:
        ParameterError: naming the path and the problem: the file is missing or
            not UTF-8, is not valid CSV, lacks a column, a row has a different
            number of fields than the header or an empty ``file``, or a file
            is listed twice with different captions.
    """
    path = Path(path)
    where = f"Received: captions_file={str(path)!r}"
    if not path.is_file():
        raise ParameterError(f"Captions file not found. {where}")
    try:
        text = path.read_text(encoding="utf-8-sig")  # tolerate a byte-order mark (spreadsheet exports)
    except UnicodeDecodeError as err:
        raise ParameterError(f"Captions file is not UTF-8 text ({err.reason} at byte {err.start}). {where}") from err
    input_dir = Path(input_dir)
    captions, lines = {}, {}
    # newline="": quoted captions may hold line breaks, which csv handles itself
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise ParameterError(f"Captions file is empty; it needs a header with columns file,caption. {where}")
        header = [name.strip() for name in header]
        missing = [c for c in CAPTIONS_FILE_COLUMNS if c not in header]
        if missing:
            raise ParameterError(
                f"Captions file lacks column(s) {', '.join(missing)} (header: {','.join(header)}). {where}"
            )
        file_index, caption_index = header.index("file"), header.index("caption")
        for row in reader:
            line = reader.line_num
            if not row:
                continue  # a blank line
            if len(row) != len(header):
                raise ParameterError(
                    f"Captions file line {line} has {len(row)} field(s), the header {len(header)}. {where}"
                )
            name, caption = row[file_index].strip(), row[caption_index].strip()
            if not name:
                raise ParameterError(f"Captions file line {line} has an empty 'file'. {where}")
            resolved = (Path(name) if Path(name).is_absolute() else input_dir / name).resolve()
            if resolved in captions and captions[resolved] != caption:
                raise ParameterError(
                    f"Captions file lists {name!r} twice with different captions "
                    f"(lines {lines[resolved]} and {line}). {where}"
                )
            captions[resolved] = caption
            lines.setdefault(resolved, line)
    except csv.Error as err:
        raise ParameterError(f"Captions file is not valid CSV (line {reader.line_num}: {err}). {where}") from err
    return CaptionsFile(path=path, captions=captions)
