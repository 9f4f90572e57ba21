"""The chorales on several instruments: one recipe render per General MIDI program, joined in one folder.

``python -m preprocessing.chorales --out data/chorales_instruments --programs organ piano``
renders the recipe once per program (`build_chorales`, each into a recipe folder of its
own) and lays out what ``source: chorales`` reads with ``label: instrument``
(``configs/chorales_instruments_stft.yaml``)::

    <out>/manifest.csv            the chorales manifest (`write_manifest`) with one row per piece and
                                  instrument (piece "<name>/<piece>") and a column ``instrument``; every
                                  render of a piece keeps the piece's split from the recipe (the same
                                  seed and fractions give the split of ``data/chorales``), so a model
                                  trained here has not seen the test pieces of ``data/chorales_stft``
                                  (``source: folder`` split the renders by a hash of their paths, and
                                  a fifth of its training clips were test or validation pieces there)
    <out>/<name>/<piece>.wav      relative symbolic links to the renders' WAVs (label = <name>)
    <out>/captions.csv            file,caption: "<name>/<piece>.wav", the chorale's caption on that
                                  instrument (`preprocessing.captions.chorale_caption`: key, instrument,
                                  parts; no tempo), for a text-conditioned data set (``captions_file``)
    <renders>/<name>/             the recipe folder of each program (wav/, midi/, manifest.csv, recipe.json);
                                  ``<renders>`` defaults to ``<out>_renders``, beside ``<out>`` (not inside
                                  it: the folder source searches ``<out>`` recursively)

A rerun keeps the renders' WAVs (the recipe resumes) and remakes the links and captions.
"""

import csv
import dataclasses
import io
import os
import re
from pathlib import Path

from common.atomic import atomic_write_text
from common.errors import ParameterError
from preprocessing.captions import chorale_caption, instrument_name
from preprocessing.recipes.chorales.build import build_chorales
from preprocessing.recipes.chorales.manifest import write_manifest

# instrument names the shipped instrument models know (their classes), with their 0-based GM programs
INSTRUMENTS = {"organ": 19, "piano": 0}
INSTRUMENT_COLUMN = "instrument"  # the manifest column naming each row's instrument (the label)
CAPTIONS_FILE = "captions.csv"
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")


def parse_program(text):
    """``"organ"`` -> ``("organ", 19)``; ``"harpsichord=6"`` -> ``("harpsichord", 6)``.

    Args:
        text: a name of `INSTRUMENTS`, or ``NAME=PROGRAM`` with NAME in lower-case letters, digits,
            '-' and '_' (the folder and the label) and PROGRAM a 0-based General MIDI program in [0, 127].
    Returns:
        ``(name, program)``.
    Raises:
        ParameterError: for an unknown name, a malformed name or a program outside [0, 127].
    """
    name, _, program = str(text).partition("=")
    if not program:
        if name not in INSTRUMENTS:
            raise ParameterError(f"Unknown instrument; use one of {', '.join(INSTRUMENTS)} or NAME=PROGRAM "
                                 f"(e.g. harpsichord=6). Received: program={text!r}")
        return name, INSTRUMENTS[name]
    if not _NAME.fullmatch(name) or not program.isdigit() or not 0 <= int(program) <= 127:
        raise ParameterError(f"NAME=PROGRAM needs a lower-case name and a General MIDI program in [0, 127]. "
                             f"Received: program={text!r}")
    return name, int(program)


def link_wavs(folder, render_dir, rows):
    """Point ``folder/<piece>.wav`` at each row's WAV in ``render_dir`` (relative links); returns their count.

    A link or file already at a name is replaced; links of pieces no longer in ``rows`` are removed.
    """
    folder.mkdir(parents=True, exist_ok=True)
    wanted = {f"{row.piece}.wav": render_dir / row.wav_path for row in rows}
    for stale in folder.glob("*.wav"):
        if stale.name not in wanted and stale.is_symlink():
            stale.unlink()
    for name, target in wanted.items():
        link = folder / name
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(os.path.relpath(target.resolve(), folder.resolve()))
    return len(wanted)


def build_instruments(out_dir, programs, renders_dir=None, **build_options):
    """Render the chorales once per program and lay them out by instrument (module docstring).

    Args:
        out_dir: the instrument folder (str or Path): ``<name>/`` per program, ``captions.csv`` and
            ``manifest.csv``.
        programs: list of ``(name, program)`` pairs (`parse_program`), names unique.
        renders_dir: where each program's recipe folder goes (default ``<out_dir>_renders``);
            must not be inside ``out_dir``.
        **build_options: passed to `build_chorales` (sample_rate, limit, workers, overwrite, ...).
    Returns:
        dict name -> `ChoralesReport`, in the order of ``programs``.
    Raises:
        ParameterError: for no program, a repeated name, ``renders_dir`` inside ``out_dir``, or
            anything `build_chorales` raises.
    """
    out_dir = Path(out_dir)
    renders_dir = Path(renders_dir) if renders_dir is not None else out_dir.parent / f"{out_dir.name}_renders"
    names = [name for name, _ in programs]
    if not names or len(set(names)) != len(names):
        raise ParameterError(f"Give one or more instruments, each once. Received: programs={names}")
    if renders_dir.resolve() == out_dir.resolve() or out_dir.resolve() in renders_dir.resolve().parents:
        raise ParameterError(f"The renders must sit outside the instrument folder, which is searched recursively. "
                             f"Received: renders_dir={str(renders_dir)!r}, out={str(out_dir)!r}")
    reports, captions, rows, instruments = {}, [], [], []
    for name, program in programs:
        report = build_chorales(renders_dir / name, program=program, **build_options)
        link_wavs(out_dir / name, report.out_dir, report.rows)
        midi_dir = os.path.relpath(Path(report.out_dir).resolve(), out_dir.resolve())
        rows += [dataclasses.replace(row, piece=f"{name}/{row.piece}", wav_path=f"{name}/{row.piece}.wav",
                                     midi_path=f"{midi_dir}/{row.midi_path}") for row in report.rows]
        instruments += [name] * len(report.rows)
        instrument = instrument_name(program)
        captions += [(f"{name}/{row.piece}.wav", chorale_caption(key=row.key or None, instrument=instrument,
                                                                 n_parts=row.n_parts)) for row in report.rows]
        reports[name] = report
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["file", "caption"])
    writer.writerows(captions)
    atomic_write_text(out_dir / CAPTIONS_FILE, text.getvalue())
    write_manifest(out_dir, rows, {INSTRUMENT_COLUMN: instruments})
    return reports
