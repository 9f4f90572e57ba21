"""Shared helpers: the project exception, validation, configuration loading, atomic writes, JSON and .keras
files, CLI helpers, time limits and numba's cache.

Every module here is light (no TensorFlow, Keras or librosa at import), so any package may import it.
"""

from common.atomic import (
    atomic_path,
    atomic_save_npy,
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_text,
    sync_to_disk,
)
from common.cli import config_from_args, config_parser, exit_status
from common.config import config_to_dict, load_config, load_saved_config, parse_overrides, save_config
from common.errors import ParameterError
from common.json_file import read_json_mapping
from common.keras_file import load_keras_model
from common.numba_cache import prepare_numba_cache
from common.serializable import FromConfigMixin
from common.time_limit import TimeLimitExceeded, time_limit, time_limit_available
from common.validation import finite_number, flag, integer, positive_int

__all__ = [
    "FromConfigMixin",
    "ParameterError",
    "TimeLimitExceeded",
    "atomic_path",
    "atomic_save_npy",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
    "config_from_args",
    "config_parser",
    "config_to_dict",
    "exit_status",
    "finite_number",
    "flag",
    "integer",
    "load_config",
    "load_keras_model",
    "load_saved_config",
    "parse_overrides",
    "positive_int",
    "prepare_numba_cache",
    "read_json_mapping",
    "save_config",
    "sync_to_disk",
    "time_limit",
    "time_limit_available",
]
