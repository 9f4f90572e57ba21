"""Shared helpers: the project exception, configuration loading, atomic writes and loading .keras files."""

from common.atomic import atomic_path, atomic_save_npy, atomic_write_bytes, atomic_write_json, atomic_write_text
from common.config import load_config, parse_overrides, save_config
from common.errors import ParameterError
from common.keras_file import load_keras_model

__all__ = [
    "ParameterError",
    "atomic_path",
    "atomic_save_npy",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
    "load_keras_model",
    "load_config",
    "parse_overrides",
    "save_config",
]
