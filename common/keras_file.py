"""Loading the ``.keras`` files of trained models, with messages that tell a missing file from a broken one.

Keras reports a truncated or overwritten ``.keras`` archive as "File not
found" (it is no longer a zip file, and `keras.saving.load_model` takes
anything that is not a zip for a missing file). `load_keras_model` checks the
file first and raises one `ParameterError` that says which it is.
"""

import zipfile
from pathlib import Path

from common.errors import ParameterError

_REASON_CHARS = 160  # a deserialisation error can quote a whole config; the path says where to look


def _short(err) -> str:
    text = " ".join(str(err).split())
    text = f"{type(err).__name__}: {text}" if text else type(err).__name__
    return text if len(text) <= _REASON_CHARS else text[: _REASON_CHARS - 3] + "..."


def load_keras_model(path, what="Model file"):
    """Load a ``.keras`` file for inference (``compile=False``, ``safe_mode=True``).

    Args:
        path: str or Path of a file written by ``keras.Model.save``.
        what: what the file is, for messages (e.g. ``"Network file"``).
    Returns:
        The ``keras.Model`` (registered classes of this project are rebuilt).
    Raises:
        ParameterError: naming the path, ``"<what> not found"`` if there is no
            such file, or ``"<what> is unreadable or corrupt (<reason>)"`` if it
            cannot be opened, is not a zip archive (a truncated or overwritten
            file), or Keras fails to rebuild the model from it.
    """
    path = Path(path)
    if not path.is_file():
        raise ParameterError(f"{what} not found. Received: path={str(path)!r}")
    try:
        with path.open("rb") as f:
            is_zip = zipfile.is_zipfile(f)
    except OSError as err:  # e.g. no permission to read it
        raise ParameterError(
            f"{what} is unreadable or corrupt ({err.strerror or _short(err)}). Received: path={str(path)!r}"
        ) from err
    if not is_zip:
        raise ParameterError(
            f"{what} is unreadable or corrupt (not a .keras zip archive: truncated or overwritten?). "
            f"Received: path={str(path)!r}"
        )
    import keras  # here, not at the top: the project's light modules import common

    try:
        return keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as err:  # a damaged archive fails in zipfile, zlib, h5py or Keras' own deserialisation
        raise ParameterError(f"{what} is unreadable or corrupt ({_short(err)}). Received: path={str(path)!r}") from err
