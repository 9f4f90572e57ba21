"""Saving and loading a spectrogram transform as JSON, so its inverse matches its forward.

File format: ``{"class": "<registered name>", "config": {<get_config()>}}``.
"""


from common.atomic import atomic_write_json
from common.errors import ParameterError
from common.json_file import read_json_mapping
from preprocessing.log_spectrogram import LogSpectrogramExtractor
from preprocessing.mdct import MdctTransform
from preprocessing.mel_spectrogram import MelSpectrogramExtractor
from preprocessing.piano_roll import PianoRollTransform

# name -> class; a transform needs `get_config()` and `from_config(dict)`.
TRANSFORMS = {}


def register_transform(cls):
    """Add ``cls`` to the registry under its class name (usable as a decorator); returns ``cls``."""
    TRANSFORMS[cls.__name__] = cls
    return cls


for _cls in (LogSpectrogramExtractor, MelSpectrogramExtractor, MdctTransform, PianoRollTransform):
    register_transform(_cls)


def save_transform(transform, path):
    """Write ``transform`` to ``path`` as JSON, atomically.

    Args:
        transform: an instance of a registered transform class.
        path: destination file (str or Path), conventionally ``transform.json``.
    Returns:
        The destination as a ``Path``.
    Raises:
        ParameterError: if the transform's class is not registered.
    """
    name = type(transform).__name__
    if TRANSFORMS.get(name) is not type(transform):
        raise ParameterError(
            f"Transform class is not registered (known: {', '.join(sorted(TRANSFORMS))}). Received: class={name!r}"
        )
    return atomic_write_json(path, {"class": name, "config": transform.get_config()})


def transform_from_payload(payload, where):
    """Rebuild a transform from ``{"class": <registered name>, "config": {...}}``.

    Args:
        payload: the mapping (from transform.json, or a PNG's metadata).
        where: the file it came from, for messages.
    Raises:
        ParameterError: naming ``where``, if the mapping is not of that form; naming the
            class, if it is unknown.
    """
    if not isinstance(payload, dict) or not isinstance(payload.get("config"), dict) or "class" not in payload:
        raise ParameterError(f"A transform must be stored as {{'class': ..., 'config': {{...}}}}. Received: path={str(where)!r}")
    name = payload["class"]
    if name not in TRANSFORMS:
        raise ParameterError(
            f"Unknown transform class (known: {', '.join(sorted(TRANSFORMS))}). Received: class={name!r}"
        )
    return TRANSFORMS[name].from_config(payload["config"])


def load_transform(path):
    """Rebuild the transform saved at ``path`` by `save_transform`.

    Raises:
        ParameterError: if the file is missing or not valid JSON of the expected
            form, or names an unknown class.
    """
    return transform_from_payload(read_json_mapping(path, "Transform file"), path)
