"""Preprocessing: audio (or MIDI) files to clips of a representation (log-STFT, mel, MDCT, piano roll, score roll).

Every representation's transform implements `Transform` and is registered in
`preprocessing.representations`; `SpectrogramCodec` pairs a transform with its
data set's normaliser. The score roll's notes (`note_grid`) and its inpainting masks
(`harmonisation`) are data functions of their own modules. `PreprocessingPipeline` writes a data
set folder (`DatasetFolder` reads it); `encode_dataset` (``python -m preprocessing.latents``) turns
one into latents with a trained first stage; `measure_clip_levels` (``python -m
preprocessing.measure_levels``) gives older folders their level summary. The PNG images of
`preprocessing.spectrogram_image` (which needs Pillow) are imported from that module.

The chorales recipe (`preprocessing.recipes.chorales`, command line
`python -m preprocessing.chorales`) is imported on its own; it is not
re-exported here.
"""

from common.numba_cache import prepare_numba_cache

prepare_numba_cache()  # before anything imports librosa: see common/numba_cache.py

from preprocessing.captions import read_captions_file  # noqa: E402
from preprocessing.codec import SpectrogramCodec  # noqa: E402
from preprocessing.config import PreprocessConfig  # noqa: E402
from preprocessing.dataset_folder import DatasetFolder  # noqa: E402
from preprocessing.harmonisation import bar_span_mask, harmonisation_mask  # noqa: E402
from preprocessing.keys import normalising_shift, parse_key  # noqa: E402
from preprocessing.latents import encode_dataset  # noqa: E402
from preprocessing.loader import Loader  # noqa: E402
from preprocessing.log_spectrogram import LogSpectrogramExtractor  # noqa: E402
from preprocessing.loudness import clip_levels_dbfs, peak_dbfs, rms_dbfs, summarise_levels  # noqa: E402
from preprocessing.manifest import MANIFEST_COLUMNS, SPLITS  # noqa: E402
from preprocessing.mdct import MdctTransform  # noqa: E402
from preprocessing.measure_levels import measure_clip_levels  # noqa: E402
from preprocessing.mel_spectrogram import MelSpectrogramExtractor  # noqa: E402
from preprocessing.midi import load_midi, midi_to_audio, parse_midi  # noqa: E402
from preprocessing.normaliser import MinMaxNormaliser, load_normaliser  # noqa: E402
from preprocessing.note_grid import notes_to_roll, roll_to_notes  # noqa: E402
from preprocessing.padder import Padder  # noqa: E402
from preprocessing.piano_roll import PianoRollTransform  # noqa: E402
from preprocessing.pipeline import PreprocessingPipeline, PreprocessReport  # noqa: E402
from preprocessing.representations import (  # noqa: E402
    REPRESENTATIONS,
    LogStftSettings,
    MdctSettings,
    MelSettings,
    PianoRollSettings,
    ScoreRollSettings,
    TransformSettings,
    build_transform,
    representation,
    representation_name,
)
from preprocessing.saver import Saver  # noqa: E402
from preprocessing.score_roll import ScoreRollTransform  # noqa: E402
from preprocessing.sources import SourceRecord, discover_sources, scan_sources  # noqa: E402
from preprocessing.transform import AUDIO, GRIFFIN_LIM_ITERATIONS, INPUT_KINDS, MIDI, GriffinLimInverse, Transform  # noqa: E402
from preprocessing.transform_io import load_transform, register_transform, save_transform  # noqa: E402

__all__ = [
    "AUDIO",
    "DatasetFolder",
    "GRIFFIN_LIM_ITERATIONS",
    "GriffinLimInverse",
    "INPUT_KINDS",
    "Loader",
    "LogSpectrogramExtractor",
    "LogStftSettings",
    "MANIFEST_COLUMNS",
    "MIDI",
    "MdctSettings",
    "MdctTransform",
    "MelSettings",
    "MelSpectrogramExtractor",
    "MinMaxNormaliser",
    "Padder",
    "PianoRollSettings",
    "PianoRollTransform",
    "PreprocessConfig",
    "PreprocessReport",
    "PreprocessingPipeline",
    "REPRESENTATIONS",
    "SPLITS",
    "Saver",
    "ScoreRollSettings",
    "ScoreRollTransform",
    "SourceRecord",
    "SpectrogramCodec",
    "Transform",
    "TransformSettings",
    "bar_span_mask",
    "build_transform",
    "clip_levels_dbfs",
    "discover_sources",
    "encode_dataset",
    "harmonisation_mask",
    "load_midi",
    "load_normaliser",
    "load_transform",
    "measure_clip_levels",
    "midi_to_audio",
    "normalising_shift",
    "notes_to_roll",
    "parse_key",
    "parse_midi",
    "peak_dbfs",
    "read_captions_file",
    "register_transform",
    "representation",
    "representation_name",
    "rms_dbfs",
    "roll_to_notes",
    "save_transform",
    "scan_sources",
    "summarise_levels",
]
