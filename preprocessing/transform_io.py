"""Saving and loading a spectrogram transform as JSON, so its inverse matches its forward.

File format: ``{"class": "<class name>", "config": {<get_config()>}}`` (the class
name, not the representation's name, so that files written before the registry
of `preprocessing.representations` load as they did).
"""


from common.atomic import atomic_write_json
from common.errors import ParameterError
from common.json_file import read_json_mapping
from preprocessing.representations import REPRESENTATIONS

# class name -> class: every registered representation's transform (and any `register_transform` adds);
# a transform needs `get_config()` and `from_config(dict)` (`preprocessing.transform.Transform`).
TRANSFORMS = {entry.transform.__name__: entry.transform for entry in REPRESENTATIONS.values()}


def register_transform(cls):
    """Add ``cls`` to the registry under its class name (usable as a decorator); returns ``cls``."""
    TRANSFORMS[cls.__name__] = cls
    return cls


def transform_payload(transform) -> dict:
    """``{"class": <class name>, "config": transform.get_config()}``, what `transform_from_payload` reads.

    Raises:
        ParameterError: if the transform's class is not registered.
    """
    name = type(transform).__name__
    if TRANSFORMS.get(name) is not type(transform):
        raise ParameterError(
            f"Transform class is not registered (known: {', '.join(sorted(TRANSFORMS))}). Received: class={name!r}"
        )
    return {"class": name, "config": transform.get_config()}


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
    return atomic_write_json(path, transform_payload(transform))


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
