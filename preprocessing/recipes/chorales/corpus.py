"""The Bach chorales of music21's bundled corpus: which pieces there are and which score file holds each."""

import dataclasses
from pathlib import Path

# When a score exists in several formats, MusicXML is preferred: the Humdrum
# (.krn) copy of bwv277 has repeats that music21 cannot expand.
_FORMAT_PREFERENCE = (".mxl", ".musicxml", ".xml", ".krn", ".mid", ".midi")


@dataclasses.dataclass(frozen=True)
class ChoraleSource:
    """One chorale of the corpus.

    Attributes:
        piece: stable id derived from the corpus file name, e.g. ``"bwv26.6"``.
        path: the score file inside music21's corpus (MusicXML or Humdrum).
    """

    piece: str
    path: Path


def _resolve_corpus_path(name):
    """Map a corpus name such as ``"bach/bwv277"`` to one score file.

    music21's own lookup is by substring and returns several files for some
    names (``bach/bwv244.3`` also matches ``bwv244.32``); this keeps the files
    whose stem is exactly the name and prefers MusicXML.
    """
    from music21 import corpus

    found = corpus.getWork(name)
    candidates = found if isinstance(found, list) else [found]
    candidates = [Path(p) for p in candidates]
    stem = name.rsplit("/", 1)[-1]
    exact = [p for p in candidates if p.stem == stem] or candidates

    def rank(path):
        suffix = path.suffix.lower()
        order = _FORMAT_PREFERENCE.index(suffix) if suffix in _FORMAT_PREFERENCE else len(_FORMAT_PREFERENCE)
        return (order, path.name)

    return min(exact, key=rank)


def list_chorales() -> list:
    """List the Bach chorales in music21's corpus without parsing them.

    The order is that of ``music21.corpus.chorales.Iterator`` (Riemenschneider
    numbering); pieces listed more than once (371 entries, about 350 distinct)
    appear once, at their first position.

    Returns:
        A list of `ChoraleSource` ``(piece, path)``; ``piece`` is the score file's
        name without folder and extension (``"bwv26.6"``), unique in the list.
    """
    from music21 import corpus

    sources = {}
    for name in dict.fromkeys(corpus.chorales.Iterator(returnType="filename")):
        path = _resolve_corpus_path(str(name))
        sources.setdefault(path.stem, ChoraleSource(piece=path.stem, path=path))
    return list(sources.values())
