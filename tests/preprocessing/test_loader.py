"""Tests for preprocessing.loader.Loader."""

import numpy as np
import pytest
import soundfile as sf

from common.errors import ParameterError
from preprocessing.loader import Loader


def tone(duration_s, sample_rate, frequency=440.0, amplitude=0.5):
    t = np.arange(int(round(duration_s * sample_rate))) / sample_rate
    return (amplitude * np.sin(2 * np.pi * frequency * t)).astype(np.float32)


@pytest.mark.parametrize("extension", ["wav", "flac", "ogg"])
def test_load_decodes_formats_to_float32_mono(tmp_path, extension):
    path = tmp_path / f"tone.{extension}"
    sf.write(path, tone(1.0, 16000), 16000)
    signal = Loader(16000).load(path)
    assert signal.dtype == np.float32
    assert signal.shape == (16000,)
    assert 0.4 < np.max(np.abs(signal)) < 0.6


def test_load_resamples_and_mixes_down(tmp_path):
    path = tmp_path / "stereo.wav"
    left = tone(2.0, 22050, 440.0)
    sf.write(path, np.stack([left, -left], axis=1), 22050)  # channels cancel when averaged
    signal = Loader(16000).load(path)
    assert signal.shape == (32000,)
    assert np.max(np.abs(signal)) < 1e-3
    stereo = Loader(16000, mono=False).load(path)
    assert stereo.shape == (2, 32000)


def test_offset_and_duration(tmp_path):
    path = tmp_path / "tone.wav"
    sf.write(path, tone(3.0, 16000), 16000)
    signal = Loader(16000, offset_s=1.0, duration_s=1.5).load(path)
    assert signal.shape == (24000,)


def test_missing_file_names_it(tmp_path):
    path = tmp_path / "nope.wav"
    with pytest.raises(ParameterError, match="not found.*nope.wav"):
        Loader(16000).load(path)


def test_corrupt_file_names_it(tmp_path):
    path = tmp_path / "corrupt.wav"
    path.write_bytes(b"RIFF\x00\x00garbage" + bytes(range(256)) * 4)
    with pytest.raises(ParameterError, match="could not be decoded.*corrupt.wav"):
        Loader(16000).load(path)


def test_empty_file_names_it(tmp_path):
    path = tmp_path / "empty.wav"
    sf.write(path, np.zeros(0, dtype=np.float32), 16000)
    with pytest.raises(ParameterError, match="no samples.*empty.wav"):
        Loader(16000).load(path)


def test_offset_past_end_is_empty(tmp_path):
    path = tmp_path / "short.wav"
    sf.write(path, tone(0.5, 16000), 16000)
    with pytest.raises(ParameterError, match="no samples"):
        Loader(16000, offset_s=2.0).load(path)


def test_non_finite_samples_names_it(tmp_path):
    path = tmp_path / "nan.wav"
    samples = tone(0.5, 16000)
    samples[100] = np.nan
    sf.write(path, samples, 16000, subtype="FLOAT")
    with pytest.raises(ParameterError, match="non-finite.*nan.wav"):
        Loader(16000).load(path)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"sample_rate": 0}, "sample_rate"),
        ({"sample_rate": 16000.5}, "sample_rate"),
        ({"sample_rate": 16000, "offset_s": -1.0}, "offset_s"),
        ({"sample_rate": 16000, "duration_s": 0.0}, "duration_s"),
    ],
)
def test_bad_arguments(kwargs, name):
    with pytest.raises(ParameterError, match=f"Received: {name}="):
        Loader(**kwargs)
