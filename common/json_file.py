"""Reading the small JSON files that travel with datasets and models."""

import json
from pathlib import Path

from common.errors import ParameterError


def read_json_mapping(path, what) -> dict:
    """Read a JSON file that must hold a mapping.

    Args:
        path: the file.
        what: what the file is, for messages (e.g. ``"Transform file"``).
    Returns:
        The mapping as a dict.
    Raises:
        ParameterError: if the file is missing, not valid JSON, or not a mapping; the
            message names the path.
    """
    path = Path(path)
    if not path.is_file():
        raise ParameterError(f"{what} not found. Received: path={str(path)!r}")
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ParameterError(f"{what} is not valid JSON ({err}). Received: path={str(path)!r}") from err
    if not isinstance(payload, dict):
        raise ParameterError(f"{what} must hold a mapping. Received: path={str(path)!r}")
    return payload
