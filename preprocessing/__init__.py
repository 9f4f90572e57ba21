"""Preprocessing: audio files to normalised-ready log-STFT spectrogram clips.

The chorales recipe (`preprocessing.chorales`) is imported on its own; it is not
re-exported here.
"""

from preprocessing.config import PreprocessConfig
from preprocessing.loader import Loader
from preprocessing.log_spectrogram import LogSpectrogramExtractor
from preprocessing.normaliser import MinMaxNormaliser, load_normaliser
from preprocessing.padder import Padder
from preprocessing.pipeline import PreprocessingPipeline, PreprocessReport
from preprocessing.saver import Saver, read_manifest
from preprocessing.sources import SourceRecord, discover_sources
from preprocessing.transform_io import load_transform, register_transform, save_transform

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
