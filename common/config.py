"""Configuration: a YAML file, then ``--set key=value`` overrides, into a frozen dataclass.

Configuration flows one way. Every job has a frozen dataclass whose fields are
its keys (``snake_case``); `load_config` reads the YAML mapping, applies the
overrides, rejects unknown keys and values of the wrong type, and returns the
dataclass. `save_config` writes the resolved values back as YAML so that every
run records exactly what it ran with.

Sections: a field whose type is itself a frozen dataclass is a section, written
as a nested mapping (``log_stft: {n_fft: 1024}``) or as dotted keys
(``--set log_stft.n_fft=2048``); the section's own dataclass checks its values.
A key that is not a field but names a field of one or more sections (its own
name, or one of the names in the field's ``metadata[FLAT_NAMES]``) is a flat
key: it sets that field in every such section, so configs written before there
were sections load and mean what they meant. Within one mapping the flat keys
apply first, so a section's own value wins over a flat one; the overrides apply
after the file.
"""

import dataclasses
import math
import re
import types
import typing
from pathlib import Path

import yaml

from common.atomic import atomic_write_text
from common.errors import ParameterError

# dataclasses.field(metadata={FLAT_NAMES: (...)}): a section field's other flat names (see the module docstring)
FLAT_NAMES = "flat_names"


def require(condition, message, name, value):
    """Raise ``ParameterError("Config key '<name>' <message>. Received: <name>=<value>")`` unless ``condition``."""
    if not condition:
        raise ParameterError(f"Config key '{name}' {message}. Received: {name}={value!r}")


def is_int(value) -> bool:
    """Whether ``value`` is an int and not a bool (YAML's ``true`` is not a count)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_finite_number(value) -> bool:
    """Whether ``value`` is a finite int or float and not a bool."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


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


# a number in exponent notation that PyYAML (YAML 1.1) leaves a string: 3e-4, 1E5, -2.5e+3
_EXPONENT_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)[eE][-+]?\d+")


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
        if isinstance(value, str) and _EXPONENT_NUMBER.fullmatch(value.strip()):
            # PyYAML follows YAML 1.1, where 3e-4 (no dot in the mantissa) is a string; YAML 1.2 and users read a number
            return float(value)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ParameterError(f"Config key '{name}' must be a number. Received: {name}={value!r}")
        return float(value)
    if annotation is str:
        if not isinstance(value, str):
            raise ParameterError(f"Config key '{name}' must be a string. Received: {name}={value!r}")
        return value
    return value


def _sections(cls):
    """``{field name: section dataclass}`` for the fields of ``cls`` whose type is a dataclass."""
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls) if dataclasses.is_dataclass(hints[f.name])}


def _flat_keys(sections):
    """``{flat key: [(section, field name), ...]}``: every section field under its name and its `FLAT_NAMES`."""
    flat = {}
    for section, section_cls in sections.items():
        for field in dataclasses.fields(section_cls):
            for name in (field.name, *field.metadata.get(FLAT_NAMES, ())):
                flat.setdefault(name, []).append((section, field.name))
    return flat


def _resolve(cls, mapping):
    """Split one mapping of keys to values into ``(shared, {section: values})``, values not yet type-checked.

    Each value is stored as ``(the key it was given under, value)``, for messages.

    Raises:
        ParameterError: for an unknown key (naming it, with the known ones), or a
            section given as something else than a mapping.
    """
    fields = {f.name for f in dataclasses.fields(cls)}
    sections = _sections(cls)
    flat = _flat_keys(sections)
    shared, flat_items, section_items, unknown = {}, [], [], []
    for key, value in mapping.items():
        section, dot, name = str(key).partition(".")
        if key in sections:
            if not isinstance(value, dict):
                keys = ", ".join(f.name for f in dataclasses.fields(sections[key]))
                raise ParameterError(f"Config key '{key}' must be a mapping of its keys ({keys}). Received: {key}={value!r}")
            section_items += [(key, name, f"{key}.{name}", item) for name, item in value.items()]
        elif key in fields:
            shared[key] = (key, value)
        elif dot and section in sections:
            section_items.append((section, name, key, value))
        elif key in flat:
            flat_items += [(section, name, key, value) for section, name in flat[key]]
        else:
            unknown.append(key)
    if unknown:
        unknown = sorted(unknown, key=str)
        known = f"Known keys: {', '.join(sorted(fields))}"
        if sections:
            section = next(iter(sections))
            example = dataclasses.fields(sections[section])[0].name
            known += (f"; and the keys of its sections, flat ({example}) or as section.key ({section}.{example}): "
                      f"{', '.join(sorted(flat))}")
        raise ParameterError(
            f"Unknown config key(s) for {cls.__name__}: {', '.join(map(str, unknown))}. "
            f"{known}. Received: {unknown[0]}={mapping[unknown[0]]!r}"
        )
    resolved = {}
    for section, name, label, value in flat_items + section_items:  # a section's own value wins over a flat one
        section_fields = {f.name for f in dataclasses.fields(sections[section])}
        if name not in section_fields:
            raise ParameterError(
                f"Unknown config key for the '{section}' section of {cls.__name__}: {name}. "
                f"Known keys: {', '.join(sorted(section_fields))}. Received: {label}={value!r}"
            )
        resolved.setdefault(section, {})[name] = (label, value)
    return shared, resolved


def _read_mapping(path) -> dict:
    """The mapping a YAML config file holds ({} for an empty file).

    Raises:
        ParameterError: naming the file, if it is missing, not valid YAML or not a mapping.
    """
    path = Path(path)
    if not path.is_file():
        raise ParameterError(f"Config file not found. Received: config={str(path)!r}")
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise ParameterError(f"Config file is not valid YAML ({err}). Received: config={str(path)!r}") from err
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ParameterError(f"Config file must hold a mapping of keys to values. Received: config={str(path)!r}")
    return loaded


def load_config(cls, path=None, overrides=None):
    """Build the frozen dataclass ``cls`` from a YAML file and overrides.

    Args:
        cls: a dataclass type whose fields all have defaults; a field whose type is a
            dataclass is a section (module docstring).
        path: YAML file holding a mapping of keys to values, or None for defaults.
        overrides: dict of key -> value (see `parse_overrides`) applied after the file;
            a key may be ``section.key``.
    Returns:
        An instance of ``cls``; its ``__post_init__`` (and its sections') may validate further.
    Raises:
        ParameterError: if the file is missing or not a mapping, a key is unknown
            (naming it, also within a section), or a value has the wrong type.
    """
    loaded = {} if path is None else _read_mapping(path)
    shared, sectioned = {}, {}
    for mapping in (loaded, overrides or {}):  # the overrides replace the file's values, then all are checked
        values, sections = _resolve(cls, mapping)
        shared.update(values)
        for section, items in sections.items():
            sectioned.setdefault(section, {}).update(items)
    hints = typing.get_type_hints(cls)
    checked = {name: _check_type(label, value, hints[name]) for name, (label, value) in shared.items()}
    for section, items in sectioned.items():
        section_hints = typing.get_type_hints(hints[section])
        values = {name: _check_type(label, value, section_hints[name]) for name, (label, value) in items.items()}
        checked[section] = hints[section](**values)
    return cls(**checked)


def load_saved_config(cls, path):
    """Read back a config that `save_config` wrote, perhaps with an older version of ``cls``.

    Keys the file lacks (added to ``cls`` since it was written) take their defaults, as in
    `load_config`; keys ``cls`` no longer has (removed since) are dropped instead of refused,
    at the top level and within sections, so a run or data set saved by older code still loads.

    Args:
        cls: the dataclass type (`load_config`).
        path: the YAML file.
    Returns:
        An instance of ``cls``.
    Raises:
        ParameterError: naming the file, if it is missing, not valid YAML or not a mapping;
            or naming the key, if a value has the wrong type or fails ``cls``'s checks.
    """
    fields = {f.name for f in dataclasses.fields(cls)}
    sections = _sections(cls)
    flat = _flat_keys(sections)
    known = {}
    for key, value in _read_mapping(path).items():
        section, dot, name = str(key).partition(".")
        if key in sections and isinstance(value, dict):
            names = {f.name for f in dataclasses.fields(sections[key])}
            known[key] = {item: v for item, v in value.items() if item in names}
        elif key in fields or key in flat:
            known[key] = value
        elif dot and section in sections and name in {f.name for f in dataclasses.fields(sections[section])}:
            known[key] = value
    return load_config(cls, None, known)


def _plain(value):
    """``value`` as YAML-safe plain data: dataclasses become dicts, tuples lists."""
    if dataclasses.is_dataclass(value):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (tuple, list)):
        return [_plain(item) for item in value]
    return value


def config_to_dict(config) -> dict:
    """The dataclass ``config`` as a plain dict of YAML-safe values (sections become dicts, tuples lists)."""
    return _plain(config)


def save_config(config, path) -> Path:
    """Write the resolved ``config`` dataclass to ``path`` as YAML, atomically."""
    return atomic_write_text(path, yaml.safe_dump(config_to_dict(config), sort_keys=False))
