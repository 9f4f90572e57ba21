"""The key a key-normalised score-roll model's output is written in (issue 16).

A model trained with ``key_normalisation`` (`preprocessing.keys`) writes in C major or
A minor. Its rolls are moved to another key only where they become notes: the
``transposition`` (semitones) of `preprocessing.score_roll.ScoreRollTransform.decode`,
which `to_midi`, `write_midi` and `invert` (through `generate.sound_generator.SoundGenerator`)
pass on. This module chooses that transposition:

    free samples       ``--key NAME``: ``-normalising_shift(NAME)`` for every sample: NAME's
                       signature, so a sample in the other mode comes out in NAME's relative
                       key (``--key G``: C major to G major, A minor to E minor); without ``--key``: minus the
                       ``transposition`` of a train clip of the model's data set drawn with
                       ``numpy.random.default_rng(seed)``, so the samples' keys follow the
                       training data's and each is reproducible from its seed (`sample_transpositions`).
    given material     a melody to harmonise, a prompt to continue, a piece whose bars are
                       regenerated is moved into the model's key by `given_shift` (a test
                       chorale's manifest ``transposition``, else the shift of music21's key of
                       its notes), sampled, and written with minus that shift: the given notes
                       come out exactly as given.

A model without key normalisation writes as it samples: every transposition is 0.
"""

import numpy as np

from common.errors import ParameterError
from preprocessing.dataset_folder import DatasetFolder
from preprocessing.keys import NORMALISED_KEYS, normalising_shift


def is_key_normalised(transform) -> bool:
    """Whether ``transform`` made (and a model trained on its rolls writes) key-normalised rolls."""
    return bool(getattr(transform, "key_normalisation", False))


def written(transposition) -> dict:
    """The decoding options that write a roll with ``transposition`` (none for 0: every transform takes that)."""
    return {"transposition": int(transposition)} if transposition else {}


def written_roll(transform, values, transposition) -> np.ndarray:
    """A roll of the notes ``values`` is written as with ``transposition``, for figures beside rolls in that key.

    Args:
        transform: a `preprocessing.score_roll.ScoreRollTransform`.
        values: float array ``(n_pitches, n_steps, C)``, the transform's values (C = its ``n_channels``).
        transposition: int, semitones (`preprocessing.score_roll.ScoreRollTransform.decode`).
    Returns:
        ``values`` itself for 0; else float32 ``(n_pitches, n_steps, C)`` of 0 and 1, the notes (per voice)
        moved, those moved out of the rows not drawn.
    """
    if not transposition:
        return values
    voice_notes = transform.decode_voices(values, transposition=int(transposition))
    return transform.notes_to_values(voice_notes, np.shape(values)[1])


def key_transposition(transform, key) -> int:
    """The semitones that write a key-normalised model's C major / A minor rolls in ``key``.

    Args:
        transform: the run's transform.
        key: a key name (`preprocessing.keys.parse_key`: ``"D minor"``, ``"G"``, ``"Bb major"``).
    Returns:
        int in [-5, 6]: ``-normalising_shift(key)``.
    Raises:
        ParameterError: for a model without key normalisation, or an unknown key name (naming it).
    """
    if not is_key_normalised(transform):
        raise ParameterError(f"--key is for models trained with key normalisation (score_roll.key_normalisation: true), "
                             f"which write in {NORMALISED_KEYS}; this one writes in the keys it learned. Received: key={key!r}")
    return -normalising_shift(key)


def training_transpositions(data_dir) -> list:
    """The ``transposition`` of every train clip of a key-normalised data set, in manifest order.

    Raises:
        ParameterError: naming ``data_dir``, if its manifest is missing, or its train clips lack the column.
    """
    data = DatasetFolder(data_dir)
    if not data.manifest_path.is_file():
        raise ParameterError(f"A key-normalised model's samples take their keys from its data set's train clips, and the "
                             f"data set is not there; pass --key or --data. Received: data_dir={str(data_dir)!r}")
    values = [row["transposition"] for row in data.split_rows("train")]
    if not values or None in values:
        raise ParameterError(f"The data set's train clips have no transposition column (not key-normalised). "
                             f"Received: data_dir={str(data_dir)!r}")
    return values


def sample_transpositions(transform, seeds, key=None, data_dir=None) -> list:
    """The transposition each free sample is written with (module docstring).

    Args:
        transform: the run's transform.
        seeds: ints, one per sample.
        key: a key name, or None: keys drawn from the training data.
        data_dir: the model's data set (without ``key``, for a key-normalised model).
    Returns:
        list of ints, one per seed: all 0 for a model without key normalisation.
    Raises:
        ParameterError: as `key_transposition` for a ``key``, and as `training_transpositions`.
    """
    if key is not None:
        return [key_transposition(transform, key)] * len(seeds)
    if not is_key_normalised(transform):
        return [0] * len(seeds)
    values = training_transpositions(data_dir)
    return [-int(values[np.random.default_rng(int(seed)).integers(len(values))]) for seed in seeds]


def piece_transposition(data_dir, piece):
    """The manifest ``transposition`` of a piece of a data set (its first clip's), or None if it has none."""
    for row in DatasetFolder(data_dir).rows:
        if row["piece"] == piece:
            return row["transposition"]
    return None


def given_shift(transform, notes, data_dir=None, piece=None) -> int:
    """The semitones that move given notes (a melody, a prompt, a piece) into a key-normalised model's key.

    Args:
        transform: the run's `preprocessing.score_roll.ScoreRollTransform`.
        notes: int array ``(n_notes, 3)``: MIDI pitch, start step, end step.
        data_dir, piece: for a test chorale (``test:N``), its data set and name: the shift the data
            set gave it (the chorales manifest's key); None: music21's key of ``notes``.
    Returns:
        int in [-6, 5]; 0 for a model without key normalisation.
    """
    if not is_key_normalised(transform):
        return 0
    shift = piece_transposition(data_dir, piece) if piece is not None else None
    return transform.transposition_for(notes) if shift is None else int(shift)
