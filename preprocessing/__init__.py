"""Preprocessing: audio files to normalised-ready log-STFT spectrogram clips.

The chorales recipe (`preprocessing.recipes.chorales`, command line
`python -m preprocessing.chorales`) is imported on its own; it is not
re-exported here.
"""

from common.numba_cache import prepare_numba_cache

prepare_numba_cache()  # before anything imports librosa: see common/numba_cache.py

from preprocessing.config import PreprocessConfig  # noqa: E402
from preprocessing.loader import Loader  # noqa: E402
from preprocessing.log_spectrogram import LogSpectrogramExtractor  # noqa: E402
from preprocessing.normaliser import MinMaxNormaliser, load_normaliser  # noqa: E402
from preprocessing.padder import Padder  # noqa: E402
from preprocessing.pipeline import PreprocessingPipeline, PreprocessReport  # noqa: E402
from preprocessing.saver import Saver, read_manifest  # noqa: E402
from preprocessing.sources import SourceRecord, discover_sources  # noqa: E402
from preprocessing.transform_io import load_transform, register_transform, save_transform  # noqa: E402

__all__ = [
    "Loader",
    "LogSpectrogramExtractor",
    "MinMaxNormaliser",
    "Padder",
    "PreprocessConfig",
    "PreprocessReport",
    "PreprocessingPipeline",
    "Saver",
    "SourceRecord",
    "discover_sources",
    "load_normaliser",
    "load_transform",
    "read_manifest",
    "register_transform",
    "save_transform",
]
