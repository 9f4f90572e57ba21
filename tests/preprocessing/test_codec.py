"""SpectrogramCodec: a transform with its data set's normaliser; SoundGenerator and the TensorBoard samples build on it."""

import ast
from pathlib import Path

import numpy as np
import pytest

from common.errors import ParameterError
from generate.sound_generator import SoundGenerator
from preprocessing.codec import SpectrogramCodec
from preprocessing.dataset_folder import DatasetFolder
from preprocessing.mdct import MdctTransform
from preprocessing.normaliser import MinMaxNormaliser


def tone(n_samples, sample_rate=8000):
    t = np.arange(n_samples) / sample_rate
    return (0.3 * np.sin(2 * np.pi * 440.0 * t)).astype(np.float32)


def test_from_folder_pairs_the_data_sets_transform_and_normaliser(tiny_dataset):
    codec = DatasetFolder(tiny_dataset).codec
    assert codec.sample_rate == 8000 and codec.transform.n_freq_bins == 128
    values = codec.encode(tone(8192))
    assert values.shape == (128, 128) and values.dtype == np.float32 and 0.0 <= values.min() <= values.max() <= 1.0
    np.testing.assert_array_equal(values, codec.normaliser.normalise(codec.transform.extract(tone(8192))))
    audio = codec.to_audio(values[..., None], n_iter=2, random_state=3)  # a channel axis is dropped
    np.testing.assert_array_equal(
        audio, codec.transform.invert(codec.normaliser.denormalise(values), n_iter=2, random_state=3))
    assert audio.shape == (8192,) and codec.to_audio(values, length=1000, n_iter=2).shape == (1000,)


def test_a_transform_with_channels_keeps_them_and_refuses_other_shapes():
    from preprocessing.score_roll import ScoreRollTransform

    codec = SpectrogramCodec(ScoreRollTransform(sample_rate=8000), MinMaxNormaliser(0.0, 1.0))
    roll = np.zeros((48, 16, 2), np.float32)
    roll[12, 0:4, 1] = roll[12, 0, 0] = 1.0  # C3, a quarter note
    assert codec.model_values(roll).shape == (48, 16, 2)
    assert codec.transform.decode(codec.model_values(roll)).tolist() == [[48, 0, 4]]
    for shape in ((48, 16), (48, 16, 1)):
        with pytest.raises(ParameterError, match=r"must be \(n_freq_bins, n_frames, 2\)\. Received: spectrogram.shape"):
            codec.model_values(np.zeros(shape, np.float32))
    with pytest.raises(ParameterError, match=r"Received: spectrogram.shape=\(128, 16, 2\)"):
        SpectrogramCodec(MdctTransform(8000, frame_length=256), MinMaxNormaliser(0.0, 1.0)).model_values(np.zeros((128, 16, 2)))


def test_sound_generator_inverts_through_its_codec_with_the_options_that_apply(tiny_dataset):
    codec = DatasetFolder(tiny_dataset).codec
    generator = SoundGenerator(codec.transform, codec.normaliser, n_iter=3)
    values = generator.codec.encode(tone(8192))
    np.testing.assert_array_equal(generator.spectrogram_to_audio(values, seed=4),
                                  generator.codec.to_audio(values, n_iter=3, random_state=4))
    assert generator.inverse_name() == "Griffin-Lim, 3 iterations"
    # an exact inverse gets neither n_iter nor a seed (it would refuse them)
    mdct = SoundGenerator(MdctTransform(8000, frame_length=256, scale=0.5), MinMaxNormaliser(-1.0, 1.0), n_iter=3)
    coefficients = mdct.codec.encode(tone(4096))
    assert mdct.inverse_name() == "inverse MDCT"
    np.testing.assert_array_equal(mdct.spectrogram_to_audio(coefficients, seed=9), mdct.codec.to_audio(coefficients))
    assert mdct.spectrogram_to_audio(coefficients, length=4096).shape == (4096,)
    with pytest.raises(ParameterError, match="Received: n_iter=3"):
        mdct.codec.to_audio(coefficients, n_iter=3)


def test_to_audio_rejects_a_wrong_shape_naming_it():
    codec = SpectrogramCodec(MdctTransform(8000, frame_length=256), MinMaxNormaliser(-1.0, 1.0))
    with pytest.raises(ParameterError, match=r"Received: spectrogram.shape=\(2, 128, 16, 1\)"):
        codec.to_audio(np.zeros((2, 128, 16, 1)))


def test_from_folder_names_the_missing_file(tmp_path):
    with pytest.raises(ParameterError, match="transform.json"):
        DatasetFolder(tmp_path).codec


def test_training_does_not_import_generation():
    """train/ is below generate/ (docs: the target layering): no import of generate, not even inside a function."""
    imports = []
    for path in sorted(Path("train").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            imports += [(path.name, name) for name in names]
    assert ("callbacks.py", "preprocessing.codec") in imports  # the TensorBoard samples' audio comes from here
    assert [(file, name) for file, name in imports if name.split(".")[0] == "generate"] == []
