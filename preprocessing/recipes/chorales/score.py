"""A chorale's score: parsed with music21 and exported to a Standard MIDI File."""

import os
from pathlib import Path

from common.errors import ParameterError


def parse_score(source):
    """A parsed music21 stream from a score path, or the stream itself.

    Args:
        source: str or path-like of a score file music21 can parse (MusicXML,
            Humdrum, ...), or a parsed ``music21.stream.Stream`` (returned as is).
    Returns:
        A ``music21.stream.Stream`` (a ``Score`` for a score file).
    Raises:
        ParameterError: if ``source`` is a path that does not exist.
        Exception: whatever music21 raises for a file it cannot parse.
    """
    from music21 import converter

    if isinstance(source, (str, os.PathLike)):
        if not Path(source).is_file():
            raise ParameterError(f"Score file not found. Received: source={str(source)!r}")
        return converter.parse(str(source))
    return source


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

    return midi.translate.music21ObjectToMidiFile(parse_score(source)).writestr()
