"""Preprocessing: audio (or MIDI) files to clips of a representation (log-STFT, mel, MDCT, piano roll, score roll).

Every representation's transform implements `Transform` and is registered in
`preprocessing.representations`; `SpectrogramCodec` pairs a transform with its
data set's normaliser. The score roll's notes (`note_grid`) and its inpainting masks
(`harmonisation`) are data functions of their own modules.

The chorales recipe (`preprocessing.recipes.chorales`, command line
`python -m preprocessing.chorales`) is imported on its own; it is not
re-exported here.
"""

from common.numba_cache import prepare_numba_cache

prepare_numba_cache()  # before anything imports librosa: see common/numba_cache.py

from preprocessing.codec import SpectrogramCodec  # noqa: E402
from preprocessing.config import PreprocessConfig  # noqa: E402
from preprocessing.dataset_folder import DatasetFolder  # noqa: E402
from preprocessing.loader import Loader  # noqa: E402
from preprocessing.log_spectrogram import LogSpectrogramExtractor  # noqa: E402
from preprocessing.mdct import MdctTransform  # noqa: E402
from preprocessing.mel_spectrogram import MelSpectrogramExtractor  # noqa: E402
from preprocessing.normaliser import MinMaxNormaliser, load_normaliser  # noqa: E402
from preprocessing.padder import Padder  # noqa: E402
from preprocessing.piano_roll import PianoRollTransform  # noqa: E402
from preprocessing.pipeline import PreprocessingPipeline, PreprocessReport  # noqa: E402
from preprocessing.representations import REPRESENTATIONS, build_transform  # noqa: E402
from preprocessing.saver import Saver  # noqa: E402
from preprocessing.score_roll import ScoreRollTransform  # noqa: E402
from preprocessing.sources import SourceRecord, discover_sources  # noqa: E402
from preprocessing.transform import GRIFFIN_LIM_ITERATIONS, Transform  # noqa: E402
from preprocessing.transform_io import load_transform, register_transform, save_transform  # noqa: E402

__all__ = [
    "DatasetFolder",
    "GRIFFIN_LIM_ITERATIONS",
    "Loader",
    "LogSpectrogramExtractor",
    "MdctTransform",
    "MelSpectrogramExtractor",
    "MinMaxNormaliser",
    "Padder",
    "PianoRollTransform",
    "PreprocessConfig",
    "PreprocessReport",
    "PreprocessingPipeline",
    "REPRESENTATIONS",
    "Saver",
    "ScoreRollTransform",
    "SourceRecord",
    "SpectrogramCodec",
    "Transform",
    "build_transform",
    "discover_sources",
    "load_normaliser",
    "load_transform",
    "register_transform",
    "save_transform",
]
