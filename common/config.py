"""Configuration: a YAML file, then ``--set key=value`` overrides, into a frozen dataclass.

Configuration flows one way. Every job has a frozen dataclass whose fields are
its keys (flat, ``snake_case``); `load_config` reads the YAML mapping, applies
the overrides, rejects unknown keys and values of the wrong type, and returns
the dataclass. `save_config` writes the resolved values back as YAML so that
every run records exactly what it ran with.
"""

import dataclasses
import types
import typing
from pathlib import Path

import yaml

from common.atomic import atomic_write_text
from common.errors import ParameterError


def parse_overrides(pairs) -> dict:
    """Parse ``["key=value", ...]`` into a dict; values are read as YAML scalars/lists.

    Raises:
        ParameterError: if an item has no ``=`` or an empty key.
    """
    overrides = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ParameterError(f"An override must look like key=value. Received: {pair!r}")
        overrides[key] = yaml.safe_load(value) if value.strip() else None
    return overrides


def _check_type(name, value, annotation):
    """Return ``value`` converted to ``annotation`` or raise ParameterError."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _check_type(name, value, arg)
            except ParameterError as err:
                errors.append(err)
        raise errors[0]
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ParameterError(f"Config key '{name}' must be a list. Received: {name}={value!r}")
        item_type = args[0] if args else typing.Any
        return tuple(_check_type(f"{name}[{i}]", v, item_type) for i, v in enumerate(value))
    if annotation is typing.Any:
        return value
    if annotation is bool:
        if not isinstance(value, bool):
            raise ParameterError(f"Config key '{name}' must be true or false. Received: {name}={value!r}")
        return value
    if annotation is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ParameterError(f"Config key '{name}' must be an integer. Received: {name}={value!r}")
        return value
    if annotation is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ParameterError(f"Config key '{name}' must be a number. Received: {name}={value!r}")
        return float(value)
    if annotation is str:
        if not isinstance(value, str):
            raise ParameterError(f"Config key '{name}' must be a string. Received: {name}={value!r}")
        return value
    return value


def load_config(cls, path=None, overrides=None):
    """Build the frozen dataclass ``cls`` from a YAML file and overrides.

    Args:
        cls: a dataclass type whose fields all have defaults.
        path: YAML file holding a mapping of keys to values, or None for defaults.
        overrides: dict of key -> value (see `parse_overrides`) applied after the file.
    Returns:
        An instance of ``cls``; its ``__post_init__`` may validate further.
    Raises:
        ParameterError: if the file is missing or not a mapping, a key is unknown,
            or a value has the wrong type.
    """
    values = {}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ParameterError(f"Config file not found. Received: config={str(path)!r}")
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as err:
            raise ParameterError(f"Config file is not valid YAML ({err}). Received: config={str(path)!r}") from err
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raise ParameterError(f"Config file must hold a mapping of keys to values. Received: config={str(path)!r}")
        values.update(loaded)
    values.update(overrides or {})
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ParameterError(
            f"Unknown config key(s) for {cls.__name__}: {', '.join(unknown)}. "
            f"Known keys: {', '.join(sorted(fields))}. Received: {unknown[0]}={values[unknown[0]]!r}"
        )
    checked = {name: _check_type(name, value, hints[name]) for name, value in values.items()}
    return cls(**checked)


def config_to_dict(config) -> dict:
    """The dataclass ``config`` as a plain dict of YAML-safe values (tuples become lists)."""
    out = {}
    for key, value in dataclasses.asdict(config).items():
        out[key] = list(value) if isinstance(value, tuple) else value
    return out


def save_config(config, path) -> Path:
    """Write the resolved ``config`` dataclass to ``path`` as YAML, atomically."""
    return atomic_write_text(path, yaml.safe_dump(config_to_dict(config), sort_keys=False))
